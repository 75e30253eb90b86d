import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  InputDialog,
  MainAreaWidget,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { PathExt } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { historyIcon, ToolbarButton } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { HistoryClient } from './client';
import { HistoryDiffView } from './diff';
import { shortId, stripDrive, versionTitle } from './format';
import { HistoryModel } from './model';
import { HistoryPanel, IHistoryPanelActions } from './panel';
import {
  CURRENT_VERSION,
  HistoryCommandIDs,
  type IHistoryVersion
} from './tokens';
import { VersionViewer } from './viewer';

const PLUGIN_ID = 'jupyter-nj:history';

/**
 * The History plugin: a side panel with the current file's versions (grouped by day, paginated),
 * read-only views of versions, restore with confirmation, labels, and nbdime's rendered diff of
 * any two versions or a version and the file as it is now.
 */
export const historyPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Browse, view, diff, label and restore the versions of a file.',
  autoStart: true,
  requires: [
    IDocumentManager,
    IRenderMimeRegistry,
    IEditorServices,
    NotebookPanel.IContentFactory
  ],
  optional: [ILabShell, ILayoutRestorer, ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    docManager: IDocumentManager,
    rendermime: IRenderMimeRegistry,
    editorServices: IEditorServices,
    contentFactory: NotebookPanel.IContentFactory,
    labShell: ILabShell | null,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ): void => {
    const client = new HistoryClient(app.serviceManager.serverSettings);
    const model = new HistoryModel(client);
    const apiPath = (path: string) =>
      stripDrive(app.serviceManager.contents.localPath(path));

    /** The open documents (their contexts) showing the file at an API path. */
    const openContexts = (path: string): DocumentRegistry.Context[] => {
      const found = new Set<DocumentRegistry.Context>();
      for (const widget of app.shell.widgets('main')) {
        const context = docManager.contextForWidget(widget);
        if (context && apiPath(context.path) === path) {
          found.add(context);
        }
      }
      return [...found];
    };

    /** A version's title from the loaded list, or its short id. */
    const titleOf = (id: string): string => {
      if (id === CURRENT_VERSION) {
        return 'Current file';
      }
      const version = model.versions.find(v => v.id === id);
      return version ? versionTitle(version) : shortId(id);
    };

    /** Show a widget in the main area, or activate the one already open with that id. */
    const showInMain = (id: string, create: () => MainAreaWidget): void => {
      for (const widget of app.shell.widgets('main')) {
        if (widget.id === id) {
          app.shell.activateById(id);
          return;
        }
      }
      const widget = create();
      widget.id = id;
      app.shell.add(widget, 'main');
      app.shell.activateById(id);
    };

    const actions: IHistoryPanelActions = {
      view: (path, version) =>
        void app.commands.execute(HistoryCommandIDs.view, {
          path,
          version: version.id
        }),
      diff: (path, base, remote) =>
        void app.commands.execute(HistoryCommandIDs.diff, {
          path,
          base,
          remote
        }),
      restore: (path, version) =>
        void app.commands.execute(HistoryCommandIDs.restore, {
          path,
          version: version.id
        }),
      label: (path, version) =>
        void app.commands.execute(HistoryCommandIDs.label, {
          path,
          version: version.id
        })
    };

    const panel = new HistoryPanel(model, actions);
    app.shell.add(panel, 'right', { rank: 650 });
    restorer?.add(panel, panel.id);

    // Follow the current document; a non-document widget (a diff, a version) keeps the file.
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
            void model.setPath(apiPath(newPath));
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
          void model.setPath(apiPath(context.path));
        }
      });
    };
    if (labShell) {
      labShell.currentChanged.connect((_, args) => follow(args.newValue));
    } else {
      app.shell.currentChanged?.connect((_, args) => follow(args.newValue));
    }
    follow(app.shell.currentWidget);

    app.commands.addCommand(HistoryCommandIDs.open, {
      label: 'jupyter-nj: Show History of the Current File',
      icon: historyIcon,
      describedBy: {
        args: {
          type: 'object',
          properties: {
            pageSize: {
              type: 'number',
              description: 'Versions per page (1-1000, 50 by default)'
            }
          }
        }
      },
      execute: args => {
        if (typeof args.pageSize === 'number') {
          model.pageSize = args.pageSize;
        }
        app.shell.activateById(panel.id);
        return model.refresh();
      }
    });

    app.commands.addCommand(HistoryCommandIDs.refresh, {
      label: 'jupyter-nj: Refresh History',
      execute: () => model.refresh()
    });

    app.commands.addCommand(HistoryCommandIDs.view, {
      label: args => (args.version ? 'View Version' : 'View a Version'),
      execute: async args => {
        const path = String(args.path ?? model.path ?? '');
        const version = String(args.version ?? '');
        if (!path || !version) {
          return;
        }
        showInMain(`jp-nj-version-${Private.idPart(path)}-${version}`, () => {
          const viewer = new VersionViewer({
            client,
            path,
            version,
            rendermime,
            contentFactory,
            mimeTypeService: editorServices.mimeTypeService,
            editorFactory: editorServices.factoryService.newDocumentEditor,
            translator: translator ?? nullTranslator
          });
          const widget = new MainAreaWidget({ content: viewer });
          widget.addClass('jp-nj-VersionViewer-main');
          widget.title.label = `${PathExt.basename(path)} @ ${shortId(version)}`;
          widget.title.caption = `${path}, version ${version} (read-only)`;
          widget.title.icon = historyIcon;
          widget.title.closable = true;
          widget.toolbar.addItem(
            'restore',
            new ToolbarButton({
              label: 'Restore this version',
              tooltip: 'Make this version the current content of the file',
              onClick: () =>
                void app.commands.execute(HistoryCommandIDs.restore, {
                  path,
                  version
                })
            })
          );
          widget.toolbar.addItem(
            'diff',
            new ToolbarButton({
              label: 'Diff with current',
              tooltip: 'Compare this version with the file as it is now',
              onClick: () =>
                void app.commands.execute(HistoryCommandIDs.diff, {
                  path,
                  base: version,
                  remote: CURRENT_VERSION
                })
            })
          );
          void viewer.load();
          return widget;
        });
      }
    });

    app.commands.addCommand(HistoryCommandIDs.diff, {
      label: 'jupyter-nj: Diff Two Versions',
      execute: async args => {
        const path = String(args.path ?? model.path ?? '');
        let base = args.base ? String(args.base) : '';
        let remote = args.remote ? String(args.remote) : '';
        if (!base) {
          const pair = model.selectedPair();
          if (!pair) {
            return;
          }
          ({ base, remote } = pair);
        }
        remote = remote || CURRENT_VERSION;
        if (!path) {
          return;
        }
        showInMain(
          `jp-nj-diff-${Private.idPart(path)}-${base}-${remote}`,
          () => {
            const view = new HistoryDiffView({
              client,
              path,
              base,
              remote,
              rendermime,
              editorFactory: editorServices.factoryService.newInlineEditor,
              translator: translator ?? nullTranslator,
              baseLabel: titleOf(base),
              remoteLabel: titleOf(remote)
            });
            const widget = new MainAreaWidget({ content: view });
            widget.addClass('jp-nj-HistoryDiff-main');
            widget.title.label = `${PathExt.basename(path)}: ${shortId(base)} ↔ ${shortId(remote)}`;
            widget.title.caption = `Diff of ${path}: ${base} → ${remote}`;
            widget.title.icon = historyIcon;
            widget.title.closable = true;
            void view.load();
            return widget;
          }
        );
      }
    });

    app.commands.addCommand(HistoryCommandIDs.restore, {
      label: 'jupyter-nj: Restore Version',
      execute: async args => {
        const path = String(args.path ?? model.path ?? '');
        const id = String(args.version ?? '');
        if (!path || !id) {
          return;
        }
        const version = model.versions.find(v => v.id === id);
        const confirmed = await showDialog({
          title: 'Restore this version?',
          body: Private.restoreBody(path, id, version),
          buttons: [
            Dialog.cancelButton(),
            Dialog.warnButton({ label: 'Restore' })
          ]
        });
        if (!confirmed.button.accept) {
          return;
        }
        const contexts = openContexts(path);
        try {
          // Unsaved edits become a version first, so a restore never loses them. A real-time
          // room's are recorded by the server before it restores into the room: saving the
          // shared document from here would race the room's own save ("changed on disk").
          for (const context of contexts) {
            if (!context.model.collaborative && context.model.dirty) {
              await context.save();
            }
          }
          const head = model.head;
          const result = await client.restore(path, id);
          if (result.via === 'contents') {
            // The file changed under the open (single-user) documents: load what was restored.
            for (const context of contexts) {
              if (!context.model.collaborative) {
                await context.revert();
              }
            }
          }
          if (result.version) {
            await model.refresh();
          } else {
            void model.refreshUntilNew(head);
          }
        } catch (error) {
          await showErrorMessage('Restore failed', error as Error);
        }
      }
    });

    app.commands.addCommand(HistoryCommandIDs.label, {
      label: 'jupyter-nj: Label Version',
      execute: async args => {
        const path = String(args.path ?? model.path ?? '');
        const id = String(args.version ?? '');
        if (!path || !id) {
          return;
        }
        let text: string;
        if (typeof args.label === 'string') {
          text = args.label;
        } else {
          const version = model.versions.find(v => v.id === id);
          const answer = await InputDialog.getText({
            title: 'Label this version',
            label: 'An empty label removes it.',
            text: version?.label ?? '',
            placeholder: 'e.g. before the refactoring'
          });
          if (!answer.button.accept || answer.value === null) {
            return;
          }
          text = answer.value;
        }
        try {
          const updated = await client.label(path, id, text.trim());
          if (model.path === path) {
            model.updateVersion(updated);
          }
        } catch (error) {
          await showErrorMessage('Could not label the version', error as Error);
        }
      }
    });

    if (palette) {
      for (const command of [
        HistoryCommandIDs.open,
        HistoryCommandIDs.refresh
      ]) {
        palette.addItem({ command, category: 'jupyter-nj' });
      }
    }
  }
};

namespace Private {
  /** A path as part of a DOM id. */
  export function idPart(path: string): string {
    return encodeURIComponent(path).replace(/%/g, '_');
  }

  /** The confirmation text of a restore. */
  export function restoreBody(
    path: string,
    id: string,
    version: IHistoryVersion | undefined
  ): string {
    const which = version ? versionTitle(version) : shortId(id);
    return (
      `${PathExt.basename(path)} will get the content of the version ${which}. ` +
      'Unsaved changes are saved first, and the current content stays in the history ' +
      'as a version, so you can come back to it.'
    );
  }
}
