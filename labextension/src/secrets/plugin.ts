import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookModel, INotebookTracker } from '@jupyterlab/notebook';

import { SecretsClient } from './client';
import { SecretsPanel } from './panel';
import { SecretCommandIDs } from './tokens';

const PLUGIN_ID = 'jupyter-nj:secrets';

/**
 * The Secrets plugin: a side panel to add, edit, share and delete secrets (values write-only)
 * and to attach them to the current notebook by name.
 */
export const secretsPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Manage secrets and attach them to notebooks.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ): void => {
    const client = new SecretsClient(app.serviceManager.serverSettings);
    const panel = new SecretsPanel(client, () => tracker.currentWidget);
    app.shell.add(panel, 'left', { rank: 640 });
    restorer?.add(panel, 'jp-nj-secrets');
    // Attachments change with the notebook's `metadata.nj` (this panel, a collaborator in the
    // same real-time room, the REST API): follow the current notebook's metadata.
    let watched: INotebookModel | null = null;
    const onMetadata = (_: INotebookModel, change: { key: string }): void => {
      if (change.key === 'nj' && panel.isVisible) {
        void panel.refresh();
      }
    };
    tracker.currentChanged.connect(() => {
      watched?.metadataChanged.disconnect(onMetadata);
      watched = tracker.currentWidget?.context.model ?? null;
      watched?.metadataChanged.connect(onMetadata);
      if (panel.isVisible) {
        void panel.refresh();
      }
    });
    app.commands.addCommand(SecretCommandIDs.openSecrets, {
      label: 'jupyter-nj: Open Secrets Panel',
      execute: () => app.shell.activateById(panel.id)
    });
    palette?.addItem({
      command: SecretCommandIDs.openSecrets,
      category: 'jupyter-nj'
    });
  }
};
