import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';

import { historyPlugin } from './history/plugin';
import { runtimesPlugin } from './runtimes/plugin';
import { secretsPlugin } from './secrets/plugin';
import { requestAPI } from './request';
import { StatusModel } from './status/model';
import { StatusItem } from './status/widget';
import { CommandIDs, INJStatus, INJStatusModel } from './tokens';

const PLUGIN_ID = 'jupyter-nj:status';

/**
 * The status plugin: asks `/nj/api/status` which backends are live, shows it in the status bar,
 * and provides `INJStatusModel` to the other jupyter-nj plugins.
 */
const statusPlugin: JupyterFrontEndPlugin<INJStatusModel> = {
  id: PLUGIN_ID,
  description: 'Shows which jupyter-nj backends are live.',
  autoStart: true,
  provides: INJStatusModel,
  optional: [IStatusBar, ISettingRegistry, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    statusBar: IStatusBar | null,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null
  ): INJStatusModel => {
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
      item = new StatusItem(model);
      item.id = 'jp-nj-status';
      statusBar.registerStatusItem(PLUGIN_ID, {
        item,
        align: 'left',
        rank: 50
      });
    }

    app.commands.addCommand(CommandIDs.showStatus, {
      label: 'jupyter-nj: Show Backend Status',
      isEnabled: () => item !== null,
      execute: () => item?.openPanel()
    });
    app.commands.addCommand(CommandIDs.refreshStatus, {
      label: 'jupyter-nj: Refresh Backend Status',
      execute: () => model.refresh()
    });
    if (palette) {
      palette.addItem({
        command: CommandIDs.showStatus,
        category: 'jupyter-nj'
      });
      palette.addItem({
        command: CommandIDs.refreshStatus,
        category: 'jupyter-nj'
      });
    }
    return model;
  }
};

export default [statusPlugin, historyPlugin, runtimesPlugin, secretsPlugin];
export * from './tokens';
export * from './history/tokens';
export * from './runtimes/tokens';
export * from './secrets/tokens';
