/**
 * The History plugin's commands: open and refresh the panel, view, diff, restore and label a
 * version. The panel's buttons run these too, so a shortcut, the palette and a click do the same.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  InputDialog,
  MainAreaWidget,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import type { IEditorServices } from '@jupyterlab/codeeditor';
import { PathExt } from '@jupyterlab/coreutils';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { ITranslator } from '@jupyterlab/translation';
import { historyIcon, ToolbarButton } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import type { Widget } from '@lumino/widgets';

import { apiPath } from '../paths';
import { SharingCommandIDs } from '../sharing/tokens';
import type { ITrans } from '../translation';
import { HistoryDiffView } from './diff';
import { shortId, versionTitle } from './format';
import type { IHistoryPanelActions } from './panel';
import {
  CURRENT_VERSION,
  HistoryCommandIDs,
  type IHistoryClient,
  type IHistoryModel,
  type IHistoryVersion
} from './tokens';
import { VersionViewer } from './viewer';

/**
 * What the History commands work with.
 */
export interface IHistoryCommandsOptions {
  /** The History REST client. */
  client: IHistoryClient;
  /** The current file's versions. */
  model: IHistoryModel;
  /** The id of the History side panel. */
  panelId: string;
  /** Finds the open documents of a file (to save them before, and reload them after, a restore). */
  docManager: IDocumentManager;
  /** Renders outputs and Markdown in views and diffs. */
  rendermime: IRenderMimeRegistry;
  /** Editors and MIME types for views and diffs. */
  editorServices: IEditorServices;
  /** Creates the cells of a notebook version. */
  contentFactory: NotebookPanel.IContentFactory;
  /** The application's translator (nbdime and the notebook widgets take it). */
  translator: ITranslator;
  /** The jupyter-nj translation bundle. */
  trans: ITrans;
}

/**
 * Add the History commands to the application.
 */
export function addHistoryCommands(
  app: JupyterFrontEnd,
  options: IHistoryCommandsOptions
): void {
  const { client, model, trans } = options;
  const { commands } = app;

  commands.addCommand(HistoryCommandIDs.open, {
    label: trans.__('jupyter-nj: Show History of the Current File'),
    icon: historyIcon,
    describedBy: {
      args: {
        type: 'object',
        properties: {
          pageSize: {
            type: 'number',
            description: trans.__('Versions per page (1-1000, 50 by default)')
          }
        }
      }
    },
    execute: args => {
      if (typeof args.pageSize === 'number') {
        model.pageSize = args.pageSize;
      }
      app.shell.activateById(options.panelId);
      return model.refresh();
    }
  });

  commands.addCommand(HistoryCommandIDs.refresh, {
    label: trans.__('jupyter-nj: Refresh History'),
    execute: () => model.refresh()
  });

  commands.addCommand(HistoryCommandIDs.view, {
    label: args =>
      args.version ? trans.__('View Version') : trans.__('View a Version'),
    execute: async args => {
      const path = String(args.path ?? model.path ?? '');
      const version = String(args.version ?? '');
      if (!path || !version) {
        return;
      }
      Private.showInMain(
        app,
        `jp-nj-version-${Private.idPart(path)}-${version}`,
        () => Private.versionWidget(commands, options, path, version)
      );
    }
  });

  commands.addCommand(HistoryCommandIDs.diff, {
    label: trans.__('jupyter-nj: Diff Two Versions'),
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
      Private.showInMain(
        app,
        `jp-nj-diff-${Private.idPart(path)}-${base}-${remote}`,
        () => Private.diffWidget(options, path, base, remote)
      );
    }
  });

  commands.addCommand(HistoryCommandIDs.restore, {
    label: trans.__('jupyter-nj: Restore Version'),
    execute: async args => {
      const path = String(args.path ?? model.path ?? '');
      const id = String(args.version ?? '');
      if (!path || !id) {
        return;
      }
      const version = model.versions.find(v => v.id === id);
      const confirmed = await showDialog({
        title: trans.__('Restore this version?'),
        body: Private.restoreBody(trans, path, id, version),
        buttons: [
          Dialog.cancelButton(),
          Dialog.warnButton({ label: trans.__('Restore') })
        ]
      });
      if (!confirmed.button.accept) {
        return;
      }
      const contexts = Private.openContexts(app, options.docManager, path);
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
        await showErrorMessage(trans.__('Restore failed'), error as Error);
      }
    }
  });

  commands.addCommand(HistoryCommandIDs.label, {
    label: trans.__('jupyter-nj: Label Version'),
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
          title: trans.__('Label this version'),
          label: trans.__('An empty label removes it.'),
          text: version?.label ?? '',
          placeholder: trans.__('e.g. before the refactoring')
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
        await showErrorMessage(
          trans.__('Could not label the version'),
          error as Error
        );
      }
    }
  });
}

/**
 * The History panel's buttons, as runs of the History commands.
 */
export function historyPanelActions(
  commands: CommandRegistry
): IHistoryPanelActions {
  return {
    view: (path, version) =>
      void commands.execute(HistoryCommandIDs.view, {
        path,
        version: version.id
      }),
    diff: (path, base, remote) =>
      void commands.execute(HistoryCommandIDs.diff, { path, base, remote }),
    restore: (path, version) =>
      void commands.execute(HistoryCommandIDs.restore, {
        path,
        version: version.id
      }),
    label: (path, version) =>
      void commands.execute(HistoryCommandIDs.label, {
        path,
        version: version.id
      }),
    // The Sharing plugin's command; the History plugin works without it.
    download: (path, version) => {
      if (commands.hasCommand(SharingCommandIDs.exportNotebook)) {
        void commands.execute(SharingCommandIDs.exportNotebook, {
          path,
          version: version.id,
          format: 'md'
        });
      }
    },
    remix: (path, version) => {
      if (commands.hasCommand(SharingCommandIDs.remixNotebook)) {
        void commands.execute(SharingCommandIDs.remixNotebook, {
          path,
          version: version.id
        });
      }
    }
  };
}

namespace Private {
  /** A path as part of a DOM id. */
  export function idPart(path: string): string {
    return encodeURIComponent(path).replace(/%/g, '_');
  }

  /** The open documents (their contexts) showing the file at an API path. */
  export function openContexts(
    app: JupyterFrontEnd,
    docManager: IDocumentManager,
    path: string
  ): DocumentRegistry.Context[] {
    const found = new Set<DocumentRegistry.Context>();
    for (const widget of app.shell.widgets('main')) {
      const context = docManager.contextForWidget(widget);
      if (
        context &&
        apiPath(app.serviceManager.contents.localPath(context.path)) === path
      ) {
        found.add(context);
      }
    }
    return [...found];
  }

  /** Show a widget in the main area, or activate the one already open with that id. */
  export function showInMain(
    app: JupyterFrontEnd,
    id: string,
    create: () => MainAreaWidget
  ): void {
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
  }

  /** A version's title from the loaded list, or its short id. */
  export function titleOf(
    model: IHistoryModel,
    trans: ITrans,
    id: string
  ): string {
    if (id === CURRENT_VERSION) {
      return trans.__('Current file');
    }
    const version = model.versions.find(v => v.id === id);
    return version ? versionTitle(version) : shortId(id);
  }

  /** A version, read-only, with "restore" and "diff with current" in its toolbar. */
  export function versionWidget(
    commands: CommandRegistry,
    options: IHistoryCommandsOptions,
    path: string,
    version: string
  ): MainAreaWidget {
    const { trans, editorServices } = options;
    const viewer = new VersionViewer({
      client: options.client,
      path,
      version,
      rendermime: options.rendermime,
      contentFactory: options.contentFactory,
      mimeTypeService: editorServices.mimeTypeService,
      editorFactory: editorServices.factoryService.newDocumentEditor,
      translator: options.translator
    });
    const widget = mainWidget(
      viewer,
      'jp-nj-VersionViewer-main',
      `${PathExt.basename(path)} @ ${shortId(version)}`,
      trans.__('%1, version %2 (read-only)', path, version)
    );
    widget.toolbar.addItem(
      'restore',
      new ToolbarButton({
        label: trans.__('Restore this version'),
        tooltip: trans.__('Make this version the current content of the file'),
        onClick: () =>
          void commands.execute(HistoryCommandIDs.restore, { path, version })
      })
    );
    widget.toolbar.addItem(
      'diff',
      new ToolbarButton({
        label: trans.__('Diff with current'),
        tooltip: trans.__('Compare this version with the file as it is now'),
        onClick: () =>
          void commands.execute(HistoryCommandIDs.diff, {
            path,
            base: version,
            remote: CURRENT_VERSION
          })
      })
    );
    void viewer.load();
    return widget;
  }

  /** nbdime's diff of two versions (or a version and the current file). */
  export function diffWidget(
    options: IHistoryCommandsOptions,
    path: string,
    base: string,
    remote: string
  ): MainAreaWidget {
    const { model, trans } = options;
    const view = new HistoryDiffView({
      client: options.client,
      path,
      base,
      remote,
      rendermime: options.rendermime,
      editorFactory: options.editorServices.factoryService.newInlineEditor,
      translator: options.translator,
      baseLabel: titleOf(model, trans, base),
      remoteLabel: titleOf(model, trans, remote)
    });
    const widget = mainWidget(
      view,
      'jp-nj-HistoryDiff-main',
      `${PathExt.basename(path)}: ${shortId(base)} ↔ ${shortId(remote)}`,
      trans.__('Diff of %1: %2 → %3', path, base, remote)
    );
    void view.load();
    return widget;
  }

  /** A closable main-area tab of the History pillar around `content`. */
  function mainWidget(
    content: Widget,
    className: string,
    label: string,
    caption: string
  ): MainAreaWidget {
    const widget = new MainAreaWidget({ content });
    widget.addClass(className);
    widget.title.label = label;
    widget.title.caption = caption;
    widget.title.icon = historyIcon;
    widget.title.closable = true;
    return widget;
  }

  /** The confirmation text of a restore. */
  export function restoreBody(
    trans: ITrans,
    path: string,
    id: string,
    version: IHistoryVersion | undefined
  ): string {
    return trans.__(
      '%1 will get the content of the version %2. Unsaved changes are saved first, and the ' +
        'current content stays in the history as a version, so you can come back to it.',
      PathExt.basename(path),
      version ? versionTitle(version) : shortId(id)
    );
  }
}
