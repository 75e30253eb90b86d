import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { apiPath } from '../paths';
import { TRANSLATION_DOMAIN } from '../translation';
import { SharingClient } from './client';
import { addSharingCommands } from './commands';
import {
  DraftLinksClient,
  SHARE_DRAFT_COMMAND,
  addDraftLinkCommand
} from './links';
import {
  PUBLISH_COMMAND,
  PublishingClient,
  addPublishCommand
} from './publish';
import { SharingCommandIDs } from './tokens';
import { RemixToolbarExtension } from './toolbar';

const PLUGIN_ID = 'jupyter-nj:sharing';

/**
 * The Sharing plugin: File > Export Notebook as Markdown (jupyter-nj)…, Import as Notebook in the
 * file browser's context menu for .md, .Rmd and .py files (both placed by its settings schema),
 * the export command the History panel's per-version Markdown button runs, and Remix (a button in
 * every notebook's toolbar, with the "Remixed from …" line of a remix, and in the History panel
 * per version), File > Share Draft Link… and File > Publish….
 */
export const sharingPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'Import Markdown, MyST, R Markdown and percent scripts as notebooks; export notebooks and their versions as text; remix notebooks.',
  autoStart: true,
  optional: [
    IDefaultFileBrowser,
    INotebookTracker,
    ICommandPalette,
    ITranslator
  ],
  activate: activateSharing
};

/**
 * Activate the Sharing plugin.
 */
function activateSharing(
  app: JupyterFrontEnd,
  browser: IDefaultFileBrowser | null,
  notebooks: INotebookTracker | null,
  palette: ICommandPalette | null,
  translator: ITranslator | null
): void {
  const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
  const client = new SharingClient(app.serviceManager.serverSettings);
  const pathOf = (path: string) =>
    apiPath(app.serviceManager.contents.localPath(path));
  addSharingCommands(app, {
    client,
    trans,
    currentNotebook: () => {
      const widget = notebooks?.currentWidget;
      return widget ? pathOf(widget.context.path) : null;
    },
    selectedFile: () => {
      const item = browser ? Array.from(browser.selectedItems())[0] : null;
      return item && item.type !== 'directory' ? pathOf(item.path) : null;
    },
    saveIfDirty: async path => {
      const open = notebooks?.find(
        panel => pathOf(panel.context.path) === path
      );
      if (
        open &&
        open.context.model.dirty &&
        !open.context.model.collaborative
      ) {
        await open.context.save();
      }
    }
  });
  app.docRegistry.addWidgetExtension(
    'Notebook',
    new RemixToolbarExtension(app.commands, trans)
  );
  palette?.addItem({
    command: SharingCommandIDs.exportNotebook,
    category: 'jupyter-nj'
  });
  addDraftLinkCommand(
    app,
    new DraftLinksClient(app.serviceManager.serverSettings),
    () => {
      const widget = notebooks?.currentWidget;
      return widget ? pathOf(widget.context.path) : null;
    },
    trans
  );
  palette?.addItem({ command: SHARE_DRAFT_COMMAND, category: 'jupyter-nj' });
  addPublishCommand(
    app,
    new PublishingClient(app.serviceManager.serverSettings),
    () => {
      const widget = notebooks?.currentWidget;
      return widget
        ? {
            path: pathOf(widget.context.path),
            content: widget.context.model.toJSON()
          }
        : null;
    },
    trans
  );
  palette?.addItem({ command: PUBLISH_COMMAND, category: 'jupyter-nj' });
  palette?.addItem({
    command: SharingCommandIDs.remixNotebook,
    category: 'jupyter-nj'
  });
}
