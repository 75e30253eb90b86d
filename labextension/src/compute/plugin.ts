import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import {
  INotebookModel,
  INotebookTracker,
  NotebookPanel
} from '@jupyterlab/notebook';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { DisposableDelegate, type IDisposable } from '@lumino/disposable';

import { IRuntimeActions } from '../runtimes/tokens';
import { TRANSLATION_DOMAIN } from '../translation';
import { BackgroundRuns } from './background';
import { CellRuntimeBadges } from './cells';
import { ComputeClient } from './client';
import { addComputeCommands } from './commands';
import { RuntimeList } from './list';
import { ComputeCommandIDs } from './tokens';

const PLUGIN_ID = 'jupyter-nj:compute';

/**
 * The Compute plugin: several runtimes in one notebook. Each code cell shows the runtime that
 * runs it (a click puts it on another runtime or adds one), its editor highlights that runtime's
 * language, the toolbar lists the notebook's runtimes with their states, and Run > Run in the
 * Background runs the notebook headless on the server. The routing itself is the server's.
 */
export const computePlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Several runtimes per notebook (a runtime per cell) and headless runs in the background.',
  autoStart: true,
  requires: [INotebookTracker, IRuntimeActions],
  optional: [IEditorServices, ICommandPalette, ITranslator],
  activate: activateCompute
};

/**
 * Activate the Compute plugin.
 */
function activateCompute(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  runtimes: IRuntimeActions,
  editors: IEditorServices | null,
  palette: ICommandPalette | null,
  translator: ITranslator | null
): void {
  const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
  const client = new ComputeClient(app.serviceManager.serverSettings);
  const runs = new BackgroundRuns(
    client,
    path => void app.commands.execute('docmanager:open', { path }),
    trans
  );
  app.serviceManager.events.stream.connect((_, event) =>
    runs.handleEvent(event)
  );

  const lists = new WeakMap<NotebookPanel, RuntimeList>();
  const openCellMenu = addComputeCommands(app, {
    tracker,
    runtimes,
    runs,
    listOf: panel => lists.get(panel),
    trans
  });
  const kernelspecs = app.serviceManager.kernelspecs;
  const badges = new Set<CellRuntimeBadges>();
  kernelspecs.specsChanged.connect(() => badges.forEach(b => b.refresh()));

  const extension: DocumentRegistry.IWidgetExtension<
    NotebookPanel,
    INotebookModel
  > = {
    createNew(panel: NotebookPanel): IDisposable {
      const cells = new CellRuntimeBadges(panel, {
        kernelspecs,
        mimeTypes: editors?.mimeTypeService ?? null,
        openMenu: openCellMenu,
        trans
      });
      badges.add(cells);
      const list = new RuntimeList(
        panel,
        client,
        () =>
          app.commands.execute(ComputeCommandIDs.addRuntime, { assign: false }),
        trans
      );
      lists.set(panel, list);
      // Right after the runtime control, which shows the notebook's main runtime.
      const names = Array.from(panel.toolbar.names());
      const at = names.indexOf('njRuntime');
      panel.toolbar.insertItem(
        at >= 0 ? at + 1 : names.length,
        'njRuntimeList',
        list
      );
      return new DisposableDelegate(() => {
        badges.delete(cells);
        cells.dispose();
        list.dispose();
      });
    }
  };
  app.docRegistry.addWidgetExtension('Notebook', extension);

  for (const command of [
    ComputeCommandIDs.cellRuntimeMenu,
    ComputeCommandIDs.addRuntime,
    ComputeCommandIDs.runtimeList,
    ComputeCommandIDs.runInBackground
  ]) {
    palette?.addItem({ command, category: 'jupyter-nj' });
  }
}
