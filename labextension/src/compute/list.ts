/**
 * The notebook's runtimes in its toolbar, next to the runtime control: one chip per runtime
 * with its state (not started, starting, idle, busy, dead); a click opens a menu that starts,
 * restarts, interrupts or stops each one, or adds a runtime. Shown once the notebook runs on
 * more than one runtime.
 */
import { showErrorMessage } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { KernelMessage } from '@jupyterlab/services';
import { CommandRegistry } from '@lumino/commands';
import { Menu, Widget } from '@lumino/widgets';

import { h } from '../dom';
import type { ITrans } from '../translation';
import type { ComputeClient } from './client';
import {
  MAIN,
  cellRuntimeName,
  declaredRuntimes,
  runtimeNames,
  stateKey,
  usesSeveralRuntimes
} from './format';
import type { IRuntimeStatus, RuntimeAction } from './tokens';

/** How often the states are asked again: while one changes, and otherwise. */
const FAST_POLL_MS = 1500;
const SLOW_POLL_MS = 10000;

/**
 * The runtime list of one notebook's toolbar.
 */
export class RuntimeList extends Widget {
  /**
   * @param _panel - the notebook panel.
   * @param _client - the Compute REST client.
   * @param _addRuntime - declares a new runtime for the panel (the "Add runtime" dialog).
   * @param _trans - the jupyter-nj translation bundle.
   */
  constructor(
    private readonly _panel: NotebookPanel,
    private readonly _client: ComputeClient,
    private readonly _addRuntime: (panel: NotebookPanel) => Promise<unknown>,
    private readonly _trans: ITrans
  ) {
    super();
    this.addClass('jp-nj-RuntimeList');
    this.addClass('jp-ToolbarButton');
    this._button = h('button', {
      className: 'jp-ToolbarButtonComponent jp-nj-RuntimeList-button',
      type: 'button',
      attrs: { 'aria-haspopup': 'menu' },
      on: { click: () => this.openMenu() }
    });
    this.node.append(this._button);
    this.node.hidden = true;
    const session = _panel.sessionContext;
    session.statusChanged.connect(this._soon, this);
    session.kernelChanged.connect(this._soon, this);
    session.iopubMessage.connect(this._onIOPub, this);
    void _panel.context.ready.then(() => {
      _panel.content.model?.metadataChanged.connect(this._soon, this);
      _panel.content.model?.cells.changed.connect(this._soon, this);
      this._soon();
    });
  }

  /** The runtimes as last asked, `main` first. */
  get runtimes(): IRuntimeStatus[] {
    return this._runtimes;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    window.clearTimeout(this._timer);
    super.dispose();
  }

  /** Ask the server for the runtimes' states, and show them. */
  async refresh(): Promise<void> {
    window.clearTimeout(this._timer);
    const generation = ++this._generation;
    const model = this._panel.content.model;
    const nj = model?.getMetadata('nj');
    const cells = model ? Array.from(model.cells) : [];
    const several = usesSeveralRuntimes(
      nj,
      cells.map(cell => cellRuntimeName(cell.getMetadata('nj')))
    );
    const kernel = this._panel.sessionContext.session?.kernel ?? null;
    let runtimes: IRuntimeStatus[];
    if (several && kernel && this.isVisible !== false) {
      try {
        runtimes = (await this._client.runtimes(kernel.id)).runtimes;
      } catch {
        // The kernel is going or not one of ours: show what the notebook declares.
        runtimes = this._declared('not started');
      }
    } else {
      runtimes = this._declared(kernel ? 'unknown' : 'not started');
    }
    if (generation !== this._generation || this.isDisposed) {
      return;
    }
    this._runtimes = runtimes;
    this._render(several);
    const changing = runtimes.some(
      r => r.state === 'starting' || r.state === 'busy'
    );
    this._timer = window.setTimeout(
      () => void this.refresh(),
      changing ? FAST_POLL_MS : SLOW_POLL_MS
    );
  }

  /** Open the menu of the runtimes under the list. */
  openMenu(): void {
    const trans = this._trans;
    const commands = new CommandRegistry();
    const menu = new Menu({ commands });
    menu.id = 'jp-nj-runtime-list-menu';
    menu.addClass('jp-nj-RuntimeListMenu');
    const kernel = this._panel.sessionContext.session?.kernel ?? null;
    const labels: Record<RuntimeAction, string> = {
      start: trans.__('Start'),
      restart: trans.__('Restart'),
      interrupt: trans.__('Interrupt'),
      stop: trans.__('Stop')
    };
    for (const runtime of this._runtimes) {
      const submenu = new Menu({ commands });
      submenu.addClass('jp-nj-RuntimeListMenu-runtime');
      submenu.title.label = trans.__(
        '%1 (%2) — %3',
        runtime.name,
        runtime.environment ?? '?',
        runtime.state
      );
      submenu.title.dataset = {
        runtime: runtime.name,
        state: stateKey(runtime.state)
      };
      for (const action of ['start', 'restart', 'interrupt', 'stop'] as const) {
        const id = `nj:${action}:${runtime.name}`;
        commands.addCommand(id, {
          label: labels[action],
          isEnabled: () => kernel !== null && this._allows(runtime, action),
          execute: () => void this._act(runtime.name, action)
        });
        submenu.addItem({ command: id });
      }
      menu.addItem({ type: 'submenu', submenu });
    }
    menu.addItem({ type: 'separator' });
    commands.addCommand('nj:add-runtime', {
      label: trans.__('Add runtime…'),
      execute: () => void this._addRuntime(this._panel).then(() => this._soon())
    });
    menu.addItem({ command: 'nj:add-runtime' });
    menu.aboutToClose.connect(() => setTimeout(() => menu.dispose(), 0));
    const rect = this._button.getBoundingClientRect();
    menu.open(rect.left, rect.bottom);
  }

  private _allows(runtime: IRuntimeStatus, action: RuntimeAction): boolean {
    const started =
      runtime.kernel_id !== null && runtime.state !== 'not started';
    switch (action) {
      case 'start':
        return !started || runtime.state === 'dead';
      case 'stop':
        return runtime.name !== MAIN && started;
      default:
        return started;
    }
  }

  private async _act(name: string, action: RuntimeAction): Promise<void> {
    const kernel = this._panel.sessionContext.session?.kernel;
    if (!kernel) {
      return;
    }
    // Said at once: the server answers when the action is done (a restart takes seconds).
    const shown: Partial<Record<RuntimeAction, string>> = {
      start: 'starting',
      restart: 'restarting',
      stop: 'stopping'
    };
    if (shown[action]) {
      this._runtimes = this._runtimes.map(r =>
        r.name === name ? { ...r, state: shown[action]! } : r
      );
      this._render(true);
    }
    try {
      const reply = await this._client.control(kernel.id, name, action);
      this._runtimes = reply.runtimes;
      this._render(true);
    } catch (error) {
      await showErrorMessage(
        this._trans.__('Cannot %1 runtime %2', action, name),
        (error as Error).message
      );
    }
    this._soon();
  }

  private _declared(state: string): IRuntimeStatus[] {
    const nj = this._panel.content.model?.getMetadata('nj');
    const declared = declaredRuntimes(nj);
    return runtimeNames(nj).map(name => ({
      name,
      environment: declared[name]?.environment,
      kernel_id: null,
      state
    }));
  }

  private _onIOPub(_: unknown, msg: KernelMessage.IMessage): void {
    if (msg.header.msg_type === 'status') {
      this._soon();
    }
  }

  /** Refresh shortly: many signals come in bursts. */
  private _soon(): void {
    window.clearTimeout(this._timer);
    this._timer = window.setTimeout(() => void this.refresh(), 250);
  }

  private _render(several: boolean): void {
    this.node.hidden = !several;
    const trans = this._trans;
    this._button.replaceChildren(
      ...this._runtimes.map(runtime =>
        h(
          'span',
          {
            className: 'jp-nj-RuntimeList-item',
            dataset: { runtime: runtime.name, state: stateKey(runtime.state) }
          },
          h('span', { className: 'jp-nj-RuntimeList-dot' }),
          runtime.name
        )
      )
    );
    this._button.title = [
      trans.__(
        'Runtimes of this notebook (click to start, restart, interrupt or stop one):'
      ),
      ...this._runtimes.map(r =>
        trans.__('%1: %2, %3', r.name, r.environment ?? '?', r.state)
      )
    ].join('\n');
  }

  private _button: HTMLButtonElement;
  private _runtimes: IRuntimeStatus[] = [];
  private _timer = 0;
  private _generation = 0;
}
