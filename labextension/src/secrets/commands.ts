/**
 * The Secrets plugin's commands.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';

import type { ITrans } from '../translation';
import { SecretCommandIDs } from './tokens';

/**
 * Add the Secrets commands to the application.
 *
 * @param panelId - the id of the Secrets side panel.
 * @param trans - the jupyter-nj translation bundle.
 */
export function addSecretCommands(
  app: JupyterFrontEnd,
  panelId: string,
  trans: ITrans
): void {
  app.commands.addCommand(SecretCommandIDs.openSecrets, {
    label: trans.__('jupyter-nj: Open Secrets Panel'),
    execute: () => app.shell.activateById(panelId)
  });
}
