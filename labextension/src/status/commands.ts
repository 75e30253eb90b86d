/**
 * The status plugin's commands.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';

import { CommandIDs, type INJStatusModel } from '../tokens';
import type { ITrans } from '../translation';
import type { StatusItem } from './widget';

/**
 * Add the status commands to the application.
 *
 * @param model - which backends are live.
 * @param item - the status bar item, or null without a status bar.
 * @param trans - the jupyter-nj translation bundle.
 */
export function addStatusCommands(
  app: JupyterFrontEnd,
  model: INJStatusModel,
  item: StatusItem | null,
  trans: ITrans
): void {
  app.commands.addCommand(CommandIDs.showStatus, {
    label: trans.__('jupyter-nj: Show Backend Status'),
    isEnabled: () => item !== null,
    execute: () => item?.openPanel()
  });
  app.commands.addCommand(CommandIDs.refreshStatus, {
    label: trans.__('jupyter-nj: Refresh Backend Status'),
    execute: () => model.refresh()
  });
}
