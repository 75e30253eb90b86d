import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { apiPath } from '../paths';
import { TRANSLATION_DOMAIN } from '../translation';
import { HistoryClient } from './client';
import { addHistoryCommands, historyPanelActions } from './commands';
import { HistoryModel } from './model';
import { HistoryPanel } from './panel';
import { HistoryCommandIDs, IHistoryModel } from './tokens';

const PLUGIN_ID = 'jupyter-nj:history';

/**
 * The History plugin: a side panel with the current file's versions (grouped by day, paginated),
 * read-only views of versions, restore with confirmation, labels, and nbdime's rendered diff of
 * any two versions or a version and the file as it is now. Provides the current file's
 * `IHistoryModel`.
 */
export const historyPlugin: JupyterFrontEndPlugin<IHistoryModel> = {
  id: PLUGIN_ID,
  description: 'Browse, view, diff, label and restore the versions of a file.',
  autoStart: true,
  provides: IHistoryModel,
  requires: [
    IDocumentManager,
    IRenderMimeRegistry,
    IEditorServices,
    NotebookPanel.IContentFactory
  ],
  optional: [ILabShell, ILayoutRestorer, ICommandPalette, ITranslator],
  activate: activateHistory
};

/**
 * Activate the History plugin.
 */
function activateHistory(
  app: JupyterFrontEnd,
  docManager: IDocumentManager,
  rendermime: IRenderMimeRegistry,
  editorServices: IEditorServices,
  contentFactory: NotebookPanel.IContentFactory,
  labShell: ILabShell | null,
  restorer: ILayoutRestorer | null,
  palette: ICommandPalette | null,
  translator: ITranslator | null
): IHistoryModel {
  translator = translator ?? nullTranslator;
  const trans = translator.load(TRANSLATION_DOMAIN);
  const client = new HistoryClient(app.serviceManager.serverSettings);
  const model = new HistoryModel(client);

  const panel = new HistoryPanel(
    model,
    historyPanelActions(app.commands),
    trans
  );
  app.shell.add(panel, 'right', { rank: 650 });
  restorer?.add(panel, panel.id);

  followCurrentDocument(app, docManager, labShell, model, panel);

  addHistoryCommands(app, {
    client,
    model,
    panelId: panel.id,
    docManager,
    rendermime,
    editorServices,
    contentFactory,
    translator,
    trans
  });
  for (const command of [HistoryCommandIDs.open, HistoryCommandIDs.refresh]) {
    palette?.addItem({ command, category: 'jupyter-nj' });
  }
  return model;
}

/**
 * Show the history of the current document, and look again when it is saved or renamed. A
 * widget that is no document (a diff, a version) keeps the file shown.
 */
function followCurrentDocument(
  app: JupyterFrontEnd,
  docManager: IDocumentManager,
  labShell: ILabShell | null,
  model: HistoryModel,
  panel: Widget
): void {
  const pathOf = (path: string) =>
    apiPath(app.serviceManager.contents.localPath(path));
  let current: DocumentRegistry.Context | null = null;
  let quietTimer: ReturnType<typeof setTimeout> | null = null;
  const hooked = new WeakSet<DocumentRegistry.Context>();
  const onSaveState = (
    _: DocumentRegistry.Context,
    state: DocumentRegistry.SaveState
  ) => {
    if (state === 'completed') {
      // The server records the version a few seconds after the save: poll until it shows.
      void model.refreshUntilNew(model.head);
    }
  };
  const onContentChanged = () => {
    // In a real-time room the server saves on its own, without a save in this browser: look
    // again once the edits have been quiet for a while, but only while the panel is shown.
    if (!current?.model.collaborative || !panel.isVisible) {
      return;
    }
    if (quietTimer !== null) {
      clearTimeout(quietTimer);
    }
    quietTimer = setTimeout(() => {
      quietTimer = null;
      void model.refreshUntilNew(model.head, [2000, 4000, 6000]);
    }, 2000);
  };
  const follow = (widget: Widget | null) => {
    const context = widget ? docManager.contextForWidget(widget) : undefined;
    if (!context || context === current) {
      return;
    }
    if (current && !current.isDisposed) {
      current.saveState.disconnect(onSaveState);
      current.model.contentChanged.disconnect(onContentChanged);
    }
    current = context;
    context.saveState.connect(onSaveState);
    context.model.contentChanged.connect(onContentChanged);
    if (!hooked.has(context)) {
      hooked.add(context);
      // A renamed file keeps its history on the server (keyed by file id): follow the name.
      context.pathChanged.connect((_, newPath) => {
        if (current === context) {
          void model.setPath(pathOf(newPath));
        }
      });
      context.disposed.connect(() => {
        if (current === context) {
          current = null;
        }
      });
    }
    // Ask once the document is loaded, unless the user has moved on to another one by then.
    void context.ready.then(() => {
      if (current === context) {
        void model.setPath(pathOf(context.path));
      }
    });
  };
  if (labShell) {
    labShell.currentChanged.connect((_, args) => follow(args.newValue));
  } else {
    app.shell.currentChanged?.connect((_, args) => follow(args.newValue));
  }
  follow(app.shell.currentWidget);
}
