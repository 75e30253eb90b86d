import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookModel, INotebookTracker } from '@jupyterlab/notebook';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { TRANSLATION_DOMAIN } from '../translation';
import { SecretsClient } from './client';
import { addSecretCommands } from './commands';
import { SecretsModel } from './model';
import { SecretsPanel } from './panel';
import { ISecretsModel, SecretCommandIDs } from './tokens';

const PLUGIN_ID = 'jupyter-nj:secrets';

/**
 * The Secrets plugin: a side panel to add, edit, share and delete secrets (values write-only)
 * and to attach them to the current notebook by name. Provides the `ISecretsModel`.
 */
export const secretsPlugin: JupyterFrontEndPlugin<ISecretsModel> = {
  id: PLUGIN_ID,
  description: 'Manage secrets and attach them to notebooks.',
  autoStart: true,
  provides: ISecretsModel,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ICommandPalette, ITranslator],
  activate: activateSecrets
};

/**
 * Activate the Secrets plugin.
 */
function activateSecrets(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  restorer: ILayoutRestorer | null,
  palette: ICommandPalette | null,
  translator: ITranslator | null
): ISecretsModel {
  const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
  const client = new SecretsClient(app.serviceManager.serverSettings);
  const model = new SecretsModel(client, () => tracker.currentWidget, trans);
  const panel = new SecretsPanel(model, trans, () => client.principals());
  app.shell.add(panel, 'left', { rank: 640 });
  restorer?.add(panel, panel.id);
  // Attachments change with the notebook's `metadata.nj` (this panel, a collaborator in the
  // same real-time room, the REST API): follow the current notebook's metadata.
  let watched: INotebookModel | null = null;
  const onMetadata = (_: INotebookModel, change: { key: string }): void => {
    if (change.key === 'nj' && panel.isVisible) {
      void model.refresh();
    }
  };
  tracker.currentChanged.connect(() => {
    watched?.metadataChanged.disconnect(onMetadata);
    watched = tracker.currentWidget?.context.model ?? null;
    watched?.metadataChanged.connect(onMetadata);
    if (panel.isVisible) {
      void model.refresh();
    }
  });
  addSecretCommands(app, panel.id, trans);
  palette?.addItem({
    command: SecretCommandIDs.openSecrets,
    category: 'jupyter-nj'
  });
  return model;
}
