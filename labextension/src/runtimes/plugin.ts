import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, type NotebookPanel } from '@jupyterlab/notebook';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { INJStatusModel } from '../tokens';
import { TRANSLATION_DOMAIN } from '../translation';
import { RuntimeActions } from './actions';
import { RuntimesClient } from './client';
import { addRuntimeCommands } from './commands';
import { EnvironmentsPanel } from './panel';
import { RuntimeToolbarExtension } from './toolbar';
import { IRuntimeActions, RuntimeCommandIDs } from './tokens';

const PLUGIN_ID = 'jupyter-nj:runtimes';

/**
 * The Runtimes plugin: a runtime control in every notebook's toolbar (environment@version and
 * backend, a menu to pick another environment or version, "Save environment") and the
 * Environments side panel (environments, versions, builds and their errors). Provides the
 * shared `IRuntimeActions`.
 */
export const runtimesPlugin: JupyterFrontEndPlugin<IRuntimeActions> = {
  id: PLUGIN_ID,
  description: 'Pick, pin and save the environment a notebook runs in.',
  autoStart: true,
  provides: IRuntimeActions,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ICommandPalette, INJStatusModel, ITranslator],
  activate: activateRuntimes
};

/**
 * Activate the Runtimes plugin.
 */
function activateRuntimes(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  restorer: ILayoutRestorer | null,
  palette: ICommandPalette | null,
  status: INJStatusModel | null,
  translator: ITranslator | null
): IRuntimeActions {
  const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
  const client = new RuntimesClient(app.serviceManager.serverSettings);
  const panelId = 'jp-nj-environments';
  const actions = new RuntimeActions(
    client,
    app.serviceManager.kernelspecs,
    () => app.shell.activateById(panelId),
    trans
  );
  const panel = new EnvironmentsPanel(
    actions,
    () => tracker.currentWidget,
    status,
    trans
  );
  app.shell.add(panel, 'left', { rank: 620 });
  restorer?.add(panel, panelId);
  tracker.currentChanged.connect(() => {
    if (panel.isVisible) {
      void panel.refresh();
    }
  });

  // Builds and snapshots made anywhere on the server show up live.
  app.serviceManager.events.stream.connect((_, event) => {
    actions.handleEvent(event);
    // GPU culls: warned before, told after, in the notebooks they concern.
    const panels: NotebookPanel[] = [];
    tracker.forEach(panel => panels.push(panel));
    actions.gpuMenu.handleEvent(event, panels);
  });

  app.docRegistry.addWidgetExtension(
    'Notebook',
    new RuntimeToolbarExtension(actions, trans)
  );

  addRuntimeCommands(app, { actions, tracker, panelId, trans });
  for (const command of [
    RuntimeCommandIDs.openEnvironments,
    RuntimeCommandIDs.saveEnvironment,
    RuntimeCommandIDs.pickRuntime
  ]) {
    palette?.addItem({ command, category: 'jupyter-nj' });
  }
  return actions;
}
