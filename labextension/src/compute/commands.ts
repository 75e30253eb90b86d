/**
 * The Compute plugin's commands: put the selected cells on a runtime, add a runtime, open the
 * active cell's runtime menu or the notebook's runtime list, and run the notebook in the
 * background. The cell badges, the toolbar list, the Run menu and the cell context menu run
 * these.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { Cell } from '@jupyterlab/cells';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { Menu } from '@lumino/widgets';

import { apiPath } from '../paths';
import type { IRuntimeActions } from '../runtimes/tokens';
import type { ITrans } from '../translation';
import type { BackgroundRuns } from './background';
import { askNewRuntime } from './dialog';
import {
  MAIN,
  cellRuntimeName,
  declaredRuntimes,
  runtimeNames,
  withCellRuntime,
  withDeclaredRuntime
} from './format';
import type { RuntimeList } from './list';
import { ComputeCommandIDs } from './tokens';

/**
 * What the Compute commands work with.
 */
export interface IComputeCommandsOptions {
  /** The notebooks. */
  tracker: INotebookTracker;
  /** The Runtimes plugin's actions (the environments and their versions). */
  runtimes: IRuntimeActions;
  /** The background runs of this page. */
  runs: BackgroundRuns;
  /** The runtime list of a panel's toolbar. */
  listOf: (panel: NotebookPanel) => RuntimeList | undefined;
  /** The jupyter-nj translation bundle. */
  trans: ITrans;
}

/** The selected code cells of a panel (the active one when nothing else is selected). */
function selectedCodeCells(panel: NotebookPanel): Cell[] {
  const notebook = panel.content;
  return notebook.widgets.filter(
    cell => cell.model.type === 'code' && notebook.isSelectedOrActive(cell)
  );
}

/** Put `cells` on runtime `name`, writing only what changes. */
function putOnRuntime(cells: Cell[], name: string): void {
  for (const cell of cells) {
    const before = cell.model.getMetadata('nj');
    if (cellRuntimeName(before) === name) {
      continue;
    }
    const after = withCellRuntime(before, name);
    if (after) {
      cell.model.setMetadata('nj', after);
    } else {
      cell.model.deleteMetadata('nj');
    }
  }
}

/**
 * Add the Compute commands to the application; returns the function that opens a cell's
 * runtime menu under an anchor (the cell badges call it).
 */
export function addComputeCommands(
  app: JupyterFrontEnd,
  options: IComputeCommandsOptions
): (panel: NotebookPanel, cell: Cell, anchor: HTMLElement) => void {
  const { tracker, runtimes, runs, trans } = options;
  const { commands } = app;
  const current = (): NotebookPanel | null => tracker.currentWidget;
  const activeRuntime = (): string => {
    const cell = current()?.content.activeCell;
    return cell ? cellRuntimeName(cell.model.getMetadata('nj')) : MAIN;
  };

  const addRuntime = async (panel: NotebookPanel, assign: boolean) => {
    const model = panel.content.model;
    if (!model) {
      return null;
    }
    const cells = assign ? selectedCodeCells(panel) : [];
    const environments = await runtimes.environments();
    const taken = runtimeNames(model.getMetadata('nj'));
    const added = await askNewRuntime(environments, taken, trans);
    if (!added || panel.isDisposed) {
      return null;
    }
    model.setMetadata(
      'nj',
      withDeclaredRuntime(model.getMetadata('nj'), added.name, added.runtime)
    );
    putOnRuntime(cells, added.name);
    return added;
  };

  commands.addCommand(ComputeCommandIDs.setCellRuntime, {
    label: args => {
      const name = String(args.name ?? MAIN);
      const declared = declaredRuntimes(
        current()?.content.model?.getMetadata('nj')
      );
      if (name === MAIN) {
        return trans.__('main (the notebook’s kernel)');
      }
      return declared[name]
        ? trans.__('%1 (%2)', name, declared[name].environment)
        : name;
    },
    caption: trans.__('Run the selected cells on this runtime'),
    isToggled: args => activeRuntime() === String(args.name ?? MAIN),
    isEnabled: () => current() !== null,
    execute: args => {
      const panel = current();
      if (panel) {
        putOnRuntime(selectedCodeCells(panel), String(args.name ?? MAIN));
      }
    }
  });

  commands.addCommand(ComputeCommandIDs.addRuntime, {
    label: trans.__('Add Runtime…'),
    caption: trans.__(
      'Declare another runtime (an environment, at a version) in this notebook and run the ' +
        'selected cells on it'
    ),
    isEnabled: () => current() !== null,
    execute: async args => {
      const panel = current();
      if (panel) {
        await addRuntime(panel, args.assign !== false);
      }
    }
  });

  const openCellMenu = (
    panel: NotebookPanel,
    cell: Cell,
    anchor: HTMLElement
  ) => {
    const notebook = panel.content;
    const index = notebook.widgets.indexOf(cell);
    if (index >= 0 && !notebook.isSelectedOrActive(cell)) {
      notebook.activeCellIndex = index;
    }
    const menu = new Menu({ commands });
    menu.id = 'jp-nj-cell-runtime-menu';
    menu.addClass('jp-nj-CellRuntimeMenu');
    for (const name of runtimeNames(notebook.model?.getMetadata('nj'))) {
      menu.addItem({
        command: ComputeCommandIDs.setCellRuntime,
        args: { name }
      });
    }
    menu.addItem({ type: 'separator' });
    menu.addItem({ command: ComputeCommandIDs.addRuntime });
    menu.aboutToClose.connect(() => setTimeout(() => menu.dispose(), 0));
    const rect = anchor.getBoundingClientRect();
    menu.open(rect.left, rect.bottom);
  };

  commands.addCommand(ComputeCommandIDs.cellRuntimeMenu, {
    label: trans.__('Cell Runtime…'),
    caption: trans.__(
      'Pick the runtime that runs the selected cells, or add one'
    ),
    isEnabled: () => current()?.content.activeCell?.model.type === 'code',
    execute: () => {
      const panel = current();
      const cell = panel?.content.activeCell;
      if (!panel || !cell) {
        return;
      }
      const anchor =
        cell.node.querySelector<HTMLElement>('.jp-nj-CellRuntime') ?? cell.node;
      openCellMenu(panel, cell, anchor);
    }
  });

  commands.addCommand(ComputeCommandIDs.runtimeList, {
    label: trans.__('Notebook Runtimes…'),
    caption: trans.__(
      "Start, restart, interrupt or stop one of the notebook's runtimes"
    ),
    isEnabled: () => current() !== null,
    execute: async () => {
      const panel = current();
      const list = panel ? options.listOf(panel) : undefined;
      if (list) {
        await list.refresh();
        list.openMenu();
      }
    }
  });

  commands.addCommand(ComputeCommandIDs.runInBackground, {
    label: trans.__('Run in the Background…'),
    caption: trans.__(
      'Run every cell of this notebook on the server, each on its runtime, and save the result'
    ),
    isEnabled: () => current() !== null,
    execute: async () => {
      const panel = current();
      if (!panel) {
        return;
      }
      const path = apiPath(
        app.serviceManager.contents.localPath(panel.context.path)
      );
      const withParameters = Array.from(panel.content.model?.cells ?? []).some(
        cell => {
          const tags = cell.getMetadata('tags');
          return Array.isArray(tags) && tags.includes('parameters');
        }
      );
      await runs.start(path, withParameters);
    }
  });

  return (panel, cell, anchor) => openCellMenu(panel, cell, anchor);
}
