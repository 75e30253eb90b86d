import { Notification } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { CommandRegistry } from '@lumino/commands';
import { Menu } from '@lumino/widgets';

import { apiPath } from '../paths';
import { type ITrans, untranslated } from '../translation';
import type { RuntimesClient } from './client';
import { gpuLabel, requestedGpuCount } from './format';
import type { IGpuInventory, IRuntimeInfo } from './tokens';

/**
 * The schema of the server's GPU runtime events (cull warnings and culls).
 */
export const GPU_EVENTS = 'https://events.jupyter.org/jupyter_nj/gpus/v1';

/**
 * The GPU submenu of the runtime menu: none, 1, n, or a specific device (model, memory and who
 * holds it). Choosing restarts the runtime with it, and a notification says how that went.
 */
export class GpuMenu {
  /**
   * @param client - the Runtimes REST client.
   * @param changed - called after a choice restarted the runtime (views refresh).
   * @param trans - the jupyter-nj translation bundle.
   */
  constructor(
    private readonly _client: RuntimesClient,
    private readonly _changed: () => void,
    private readonly _trans: ITrans = untranslated
  ) {}

  /**
   * Build the submenu for the panel's runtime (`running`, null when it runs none).
   */
  async build(
    commands: CommandRegistry,
    panel: NotebookPanel,
    running: IRuntimeInfo | null
  ): Promise<Menu> {
    const trans = this._trans;
    const menu = new Menu({ commands });
    menu.addClass('jp-nj-RuntimeMenu');
    menu.addClass('jp-nj-GpuMenu');
    menu.title.label = trans.__('GPU');
    const kernelId = panel.sessionContext.session?.kernel?.id ?? null;
    let inventory: IGpuInventory | null = null;
    let problem = '';
    try {
      inventory = await this._client.gpus();
    } catch (error) {
      problem = error instanceof Error ? error.message : String(error);
    }
    const requested = requestedGpuCount(running?.gpus?.requested);
    const held = new Set(running?.gpus?.allocated ?? []);
    const info = (id: string, label: string) => {
      commands.addCommand(id, {
        label,
        isEnabled: () => false,
        execute: () => undefined
      });
      menu.addItem({ command: id });
    };
    if (problem) {
      info('nj:gpu:problem', trans.__('Cannot list GPUs: %1', problem));
    } else if (inventory && !inventory.available) {
      info('nj:gpu:none-here', trans.__('No GPU: %1', inventory.reason));
      if (inventory.hint) {
        info('nj:gpu:hint', inventory.hint);
      }
    }
    if (running?.start_error) {
      info('nj:gpu:error', trans.__('Last start: %1', running.start_error));
    }
    menu.addItem({ type: 'separator' });
    const enabled = () => kernelId !== null && running !== null;
    const choice = (id: string, label: string, gpus: number | string[]) => {
      commands.addCommand(id, {
        label,
        isEnabled: enabled,
        isToggled: () =>
          Array.isArray(gpus)
            ? gpus.every(u => held.has(u)) && held.size === gpus.length
            : requested === gpus && !(gpus > 0 && held.size === 0),
        execute: () => void this.choose(panel, gpus)
      });
      menu.addItem({ command: id });
    };
    choice('nj:gpu:0', trans.__('No GPU'), 0);
    const count = inventory?.gpus.length ?? 0;
    choice('nj:gpu:1', trans.__('1 GPU'), 1);
    for (let n = 2; n <= count; n++) {
      choice(`nj:gpu:${n}`, trans.__('%1 GPUs', n), n);
    }
    if (inventory && inventory.gpus.length > 0) {
      menu.addItem({ type: 'separator' });
      for (const gpu of inventory.gpus) {
        choice(`nj:gpu:device:${gpu.uuid}`, gpuLabel(gpu, trans, kernelId), [
          gpu.uuid
        ]);
      }
    }
    return menu;
  }

  /**
   * Ask the server to restart the panel's runtime with `gpus`, and say what came of it.
   */
  async choose(panel: NotebookPanel, gpus: number | string[]): Promise<void> {
    const trans = this._trans;
    const kernel = panel.sessionContext.session?.kernel;
    if (!kernel) {
      return;
    }
    const what = Array.isArray(gpus)
      ? gpus.join(', ')
      : gpus === 0
        ? trans.__('no GPU')
        : gpus === 1
          ? trans.__('1 GPU')
          : trans.__('%1 GPUs', gpus);
    const id = Notification.emit(
      trans.__('Restarting the runtime with %1…', what),
      'in-progress',
      { autoClose: false }
    );
    // The answer is a notification of its own: a refusal can come back before the toast of
    // the request is shown, and an update of that toast would then be lost.
    try {
      const answer = await this._client.chooseGpus(kernel.id, gpus);
      Notification.dismiss(id);
      Notification.success(answer.message, { autoClose: 8000 });
    } catch (error) {
      Notification.dismiss(id);
      Notification.error(
        error instanceof Error ? error.message : String(error),
        { autoClose: false }
      );
    } finally {
      this._changed();
    }
  }

  /**
   * Show the server's GPU events for the open notebooks: a warning before an idle GPU runtime
   * is culled, and afterwards why it stopped, with a button that starts it again.
   */
  handleEvent(
    event: { schema_id: string; [key: string]: unknown },
    panels: NotebookPanel[]
  ): void {
    if (event.schema_id !== GPU_EVENTS) {
      return;
    }
    const notebook = String(event.notebook ?? '');
    const panel = panels.find(p => apiPath(p.context.path) === notebook);
    if (!panel) {
      return;
    }
    const trans = this._trans;
    const message = String(event.message ?? '');
    const name = panel.context.path.split('/').pop() ?? notebook;
    if (event.action === 'runtime-cull-warning') {
      Notification.warning(`${name}: ${message}`, { autoClose: false });
      return;
    }
    if (event.action !== 'runtime-culled') {
      return;
    }
    const runtime = String(event.runtime ?? 'main');
    // The kernel's name, read now: the culled kernel's model goes with it.
    const kernel = panel.sessionContext.session?.kernel?.name;
    Notification.error(`${name}: ${message}`, {
      autoClose: false,
      actions:
        runtime === 'main'
          ? [
              {
                label: trans.__('Start it again'),
                callback: () => {
                  const kernelName =
                    kernel ?? panel.sessionContext.kernelPreference.name;
                  void panel.sessionContext.changeKernel(
                    kernelName ? { name: kernelName } : {}
                  );
                }
              }
            ]
          : []
    });
    this._changed();
  }
}
