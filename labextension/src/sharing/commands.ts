/**
 * The Sharing plugin's commands: export a notebook (or one of its versions) as text and download
 * it, and import a .md, .Rmd or .py file as a notebook. The File menu, the file browser's context
 * menu and the History panel's per-version Markdown button run these.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  InputDialog,
  Notification,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { ServerConnection } from '@jupyterlab/services';

import { h } from '../dom';
import type { ITrans } from '../translation';
import {
  EXPORT_FORMATS,
  formatLabel,
  formatOfLabel,
  isExportFormat,
  isImportable,
  remixTarget
} from './format';
import {
  type ExportFormat,
  type IExported,
  type ISharingClient,
  SharingCommandIDs
} from './tokens';

/**
 * What the Sharing commands work with.
 */
export interface ISharingCommandsOptions {
  /** The Sharing REST client. */
  client: ISharingClient;
  /** The API path of the current notebook, or null. */
  currentNotebook: () => string | null;
  /** The API path of the file selected in the file browser, or null. */
  selectedFile: () => string | null;
  /**
   * Save the open notebook at this API path when it has unsaved changes (a remix of `current`
   * copies what is saved, or what its real-time room holds).
   */
  saveIfDirty: (path: string) => Promise<void>;
  /** The jupyter-nj translation bundle. */
  trans: ITrans;
}

/**
 * Add the Sharing commands to the application.
 */
export function addSharingCommands(
  app: JupyterFrontEnd,
  options: ISharingCommandsOptions
): void {
  const { client, trans } = options;
  const { commands } = app;

  commands.addCommand(SharingCommandIDs.exportNotebook, {
    label: args =>
      args.version
        ? trans.__('Download as Markdown')
        : trans.__('Export Notebook as Markdown (jupyter-nj)…'),
    caption: trans.__(
      'Download the notebook, or one of its versions, as Markdown, MyST, R Markdown or a percent-format Python script'
    ),
    describedBy: {
      args: {
        type: 'object',
        properties: {
          path: { type: 'string', description: trans.__('The notebook') },
          version: {
            type: 'string',
            description: trans.__('A history version id (default: now)')
          },
          format: { type: 'string', enum: EXPORT_FORMATS }
        }
      }
    },
    isEnabled: args => !!(args.path || options.currentNotebook()),
    execute: async args => {
      const path = String(args.path ?? options.currentNotebook() ?? '');
      if (!path) {
        return;
      }
      const version = args.version ? String(args.version) : null;
      let format: ExportFormat | null = isExportFormat(args.format)
        ? args.format
        : null;
      if (!format) {
        const picked = await InputDialog.getItem({
          title: trans.__('Export %1 as', path.split('/').pop() ?? path),
          items: EXPORT_FORMATS.map(f => formatLabel(f, trans)),
          current: 0,
          okLabel: trans.__('Download')
        });
        format = picked.button.accept
          ? formatOfLabel(picked.value, trans)
          : null;
        if (!format) {
          return;
        }
      }
      try {
        Private.download(await client.exportNotebook(path, format, version));
      } catch (error) {
        await showErrorMessage(trans.__('Export failed'), error as Error);
      }
    }
  });

  commands.addCommand(SharingCommandIDs.importNotebook, {
    label: trans.__('Import as Notebook'),
    caption: trans.__(
      'Read this Markdown, MyST, R Markdown or percent-format Python file into a new notebook'
    ),
    isVisible: args => {
      const path = args.path ? String(args.path) : options.selectedFile();
      return !!path && isImportable(path);
    },
    execute: async args => {
      const path = String(args.path ?? options.selectedFile() ?? '');
      if (!path || !isImportable(path)) {
        return;
      }
      const to = args.to ? String(args.to) : undefined;
      try {
        let result;
        try {
          result = await client.importNotebook(path, { to });
        } catch (error) {
          if (!Private.isConflict(error)) {
            throw error;
          }
          const answer = await showDialog({
            title: trans.__('Replace the notebook?'),
            body: (error as Error).message,
            buttons: [
              Dialog.cancelButton(),
              Dialog.warnButton({ label: trans.__('Replace') })
            ]
          });
          if (!answer.button.accept) {
            return;
          }
          result = await client.importNotebook(path, { to, overwrite: true });
        }
        await commands.execute('docmanager:open', { path: result.path });
        return result;
      } catch (error) {
        await showErrorMessage(trans.__('Import failed'), error as Error);
      }
    }
  });

  commands.addCommand(SharingCommandIDs.remixNotebook, {
    label: args =>
      args.version ? trans.__('Remix This Version') : trans.__('Remix'),
    caption: trans.__(
      'Make a copy of your own with the same environment versions, results folder and history; the original stays as it is'
    ),
    describedBy: {
      args: {
        type: 'object',
        properties: {
          path: { type: 'string', description: trans.__('The notebook') },
          version: {
            type: 'string',
            description: trans.__('A history version id (default: current)')
          },
          to: { type: 'string', description: trans.__('The new notebook') }
        }
      }
    },
    isEnabled: args => !!(args.path || options.currentNotebook()),
    execute: async args => {
      const path = String(args.path ?? options.currentNotebook() ?? '');
      if (!path) {
        return;
      }
      const version = args.version ? String(args.version) : 'current';
      let to = args.to ? String(args.to) : '';
      if (!to) {
        const answer = await InputDialog.getText({
          title: trans.__('Remix %1', path.split('/').pop() ?? path),
          label: trans.__('New notebook'),
          text: remixTarget(path),
          okLabel: trans.__('Remix')
        });
        if (!answer.button.accept || !answer.value) {
          return;
        }
        to = answer.value;
      }
      try {
        if (version === 'current') {
          await options.saveIfDirty(path);
        }
        const result = await client.remix(path, { version, to });
        await commands.execute('docmanager:open', { path: result.path });
        if (result.secrets.length > 0) {
          Notification.info(
            trans.__(
              'The remix keeps the names of its secrets (%1), not their values: you need access of your own to each. See the Secrets panel.',
              result.secrets.join(', ')
            ),
            { autoClose: false }
          );
        }
        return result;
      } catch (error) {
        await showErrorMessage(trans.__('Remix failed'), error as Error);
      }
    }
  });
}

namespace Private {
  /** Hand the text to the browser as a download. */
  export function download(exported: IExported): void {
    const blob = new Blob([exported.text], { type: exported.mediaType });
    const url = URL.createObjectURL(blob);
    const link = h('a', {
      href: url,
      className: 'jp-nj-ExportDownload',
      attrs: { download: exported.filename }
    });
    link.style.display = 'none';
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  /** Whether the server refused because the target exists (409). */
  export function isConflict(error: unknown): boolean {
    return (
      error instanceof ServerConnection.ResponseError &&
      error.response.status === 409
    );
  }
}
