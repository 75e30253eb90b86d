/**
 * The Runtimes plugin's commands: open the Environments panel, save the current notebook's
 * environment, open its runtime menu.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { INotebookTracker } from '@jupyterlab/notebook';
import { saveIcon } from '@jupyterlab/ui-components';

import type { ITrans } from '../translation';
import { type IRuntimeActions, RuntimeCommandIDs } from './tokens';

/**
 * What the Runtimes commands work with.
 */
export interface IRuntimeCommandsOptions {
  /** The shared runtime actions. */
  actions: IRuntimeActions;
  /** The notebooks; the commands act on the current one. */
  tracker: INotebookTracker;
  /** The id of the Environments side panel. */
  panelId: string;
  /** The jupyter-nj translation bundle. */
  trans: ITrans;
}

/**
 * Add the Runtimes commands to the application.
 */
export function addRuntimeCommands(
  app: JupyterFrontEnd,
  options: IRuntimeCommandsOptions
): void {
  const { actions, tracker, trans } = options;
  app.commands.addCommand(RuntimeCommandIDs.openEnvironments, {
    label: trans.__('jupyter-nj: Open Environments Panel'),
    execute: () => app.shell.activateById(options.panelId)
  });
  app.commands.addCommand(RuntimeCommandIDs.saveEnvironment, {
    label: trans.__('Save Environment'),
    caption: trans.__(
      "Save the notebook's runtime as a new environment version and pin the notebook to it"
    ),
    icon: saveIcon,
    isEnabled: () => tracker.currentWidget !== null,
    execute: async () => {
      const current = tracker.currentWidget;
      return current ? actions.saveEnvironment(current) : null;
    }
  });
  app.commands.addCommand(RuntimeCommandIDs.pickRuntime, {
    label: trans.__('jupyter-nj: Pick Runtime Environment…'),
    isEnabled: () => tracker.currentWidget !== null,
    execute: () => {
      const current = tracker.currentWidget;
      const anchor = current?.toolbar.node.querySelector<HTMLElement>(
        '.jp-nj-RuntimeControl button'
      );
      if (current && anchor) {
        return actions.openMenu(current, anchor);
      }
    }
  });
}
