import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { requestAPI } from '../request';
import { CommandIDs, INJStatus, INJStatusModel } from '../tokens';
import { TRANSLATION_DOMAIN } from '../translation';
import { addStatusCommands } from './commands';
import { StatusModel } from './model';
import { StatusItem } from './widget';

const PLUGIN_ID = 'jupyter-nj:status';

/**
 * The status plugin: asks `/nj/api/status` which backends are live, shows it in the status bar,
 * and provides `INJStatusModel` to the other jupyter-nj plugins.
 */
export const statusPlugin: JupyterFrontEndPlugin<INJStatusModel> = {
  id: PLUGIN_ID,
  description: 'Shows which jupyter-nj backends are live.',
  autoStart: true,
  provides: INJStatusModel,
  optional: [IStatusBar, ISettingRegistry, ICommandPalette, ITranslator],
  activate: activateStatus
};

/**
 * Activate the status plugin.
 */
function activateStatus(
  app: JupyterFrontEnd,
  statusBar: IStatusBar | null,
  settingRegistry: ISettingRegistry | null,
  palette: ICommandPalette | null,
  translator: ITranslator | null
): INJStatusModel {
  const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
  const serverSettings = app.serviceManager.serverSettings;
  const model = new StatusModel(() =>
    requestAPI<INJStatus>('status', {}, serverSettings)
  );
  void model.refresh();
  model.startPolling(30);

  if (settingRegistry) {
    void settingRegistry
      .load(PLUGIN_ID)
      .then(settings => {
        const apply = () =>
          model.startPolling(
            (settings.get('refreshInterval').composite as number) ?? 30
          );
        settings.changed.connect(apply);
        apply();
      })
      .catch(reason =>
        console.warn('jupyter-nj: could not load settings', reason)
      );
  }

  let item: StatusItem | null = null;
  if (statusBar) {
    item = new StatusItem(model, trans);
    item.id = 'jp-nj-status';
    statusBar.registerStatusItem(PLUGIN_ID, {
      item,
      align: 'left',
      rank: 50
    });
  }

  addStatusCommands(app, model, item, trans);
  for (const command of [CommandIDs.showStatus, CommandIDs.refreshStatus]) {
    palette?.addItem({ command, category: 'jupyter-nj' });
  }
  return model;
}
