import { Notification } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import { caretDownIcon, kernelIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { h } from '../dom';
import { type ITrans, untranslated } from '../translation';
import {
  environmentOfKernel,
  readPin,
  runtimeLabel,
  shortVersion
} from './format';
import type { IRuntimeActions } from './tokens';

/**
 * The runtime control of a notebook's toolbar: `environment@short-version` and the backend
 * (`local`/`docker`) of the kernel; a click opens the runtime menu.
 *
 * `data-nj-state` says what is shown: `none` (no kernel), `foreign` (a kernel that is not a
 * jupyter-nj runtime), `pinned` (the notebook's pin, while no runtime of it runs), `starting`,
 * `ready`, or `error`.
 */
export class RuntimeControl extends Widget {
  /**
   * @param panel - the notebook panel whose kernel this control shows.
   * @param actions - the shared runtime actions (menu, pin, save).
   * @param trans - the jupyter-nj translation bundle.
   */
  constructor(
    private readonly _panel: NotebookPanel,
    private readonly _actions: IRuntimeActions,
    private readonly _trans: ITrans = untranslated
  ) {
    super();
    this.addClass('jp-nj-RuntimeControl');
    this.addClass('jp-ToolbarButton');
    this._label = h('span', { className: 'jp-nj-RuntimeControl-label' });
    this._backend = h('span', { className: 'jp-nj-RuntimeControl-backend' });
    this._unsavedMark = h(
      'span',
      { className: 'jp-nj-RuntimeControl-unsaved', hidden: true },
      '●'
    );
    const icon = h('span', { className: 'jp-nj-RuntimeControl-icon' });
    kernelIcon.element({ container: icon, height: '16px', width: '16px' });
    const caret = h('span', { className: 'jp-nj-RuntimeControl-caret' });
    caretDownIcon.element({ container: caret, height: '14px', width: '14px' });
    this._button = h(
      'button',
      {
        className: 'jp-ToolbarButtonComponent jp-nj-RuntimeControl-button',
        type: 'button',
        attrs: { 'aria-haspopup': 'menu' },
        on: {
          click: () => void this._actions.openMenu(this._panel, this._button)
        }
      },
      icon,
      this._label,
      this._backend,
      this._unsavedMark,
      caret
    );
    this.node.append(this._button);
    this.node.dataset.njUnsaved = 'false';
    const sessionContext = _panel.sessionContext;
    sessionContext.kernelChanged.connect(this._scheduleRefresh, this);
    sessionContext.statusChanged.connect(this._onStatus, this);
    sessionContext.iopubMessage.connect(this._onIOPub, this);
    sessionContext.kernelChanged.connect(() => _actions.clearUnsaved(_panel));
    _actions.changed.connect(this._scheduleRefresh, this);
    _actions.unsavedChanged.connect(this._onUnsaved, this);
    void sessionContext.ready.then(() => this.refresh());
    this._showKernel(null);
  }

  /** Ask the server again what the kernel runs, and show it. */
  async refresh(): Promise<void> {
    const generation = ++this._generation;
    const kernel = this._panel.sessionContext.session?.kernel ?? null;
    if (!kernel || !environmentOfKernel(kernel.name)) {
      this._showKernel(kernel);
      return;
    }
    try {
      const info = await this._actions.runtimeOf(this._panel);
      if (generation !== this._generation || this.isDisposed) {
        return;
      }
      if (!info) {
        this._showKernel(kernel);
        return;
      }
      const pin = readPin(this._panel.content.model?.getMetadata('nj'));
      const trans = this._trans;
      this._show(
        info.version ? 'ready' : 'starting',
        runtimeLabel(info),
        info.backend,
        info.version
          ? [
              trans.__(
                'Runtime: %1@%2 on the %3 backend',
                info.environment,
                info.version.short,
                info.backend
              ),
              trans.__('Version %1', info.version.version),
              pin && pin.environment === info.environment
                ? trans.__(
                    'Notebook pinned to %1@%2',
                    pin.environment,
                    shortVersion(pin.version)
                  )
                : trans.__('The notebook is not pinned to it yet'),
              trans.__(
                'Click to pick another environment or version, or to save this one.'
              )
            ].join('\n')
          : trans.__('Runtime %1 is starting…', info.environment)
      );
      this.node.dataset.environment = info.environment;
      this.node.dataset.version = info.version?.version ?? '';
      this._showWarnings(kernel.id, info.warnings ?? []);
      if (!info.version) {
        // The kernel is still starting: ask again shortly.
        this._scheduleRefresh(1000);
      }
    } catch (error) {
      if (generation === this._generation && !this.isDisposed) {
        this._show(
          'error',
          'runtime?',
          '',
          this._trans.__(
            'Cannot ask the server what this kernel runs: %1',
            (error as Error).message
          )
        );
      }
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    window.clearTimeout(this._timer);
    super.dispose();
  }

  private _onIOPub(_: unknown, msg: KernelMessage.IMessage): void {
    if (
      msg.header.msg_type === 'execute_input' &&
      this.node.dataset.njState === 'ready'
    ) {
      const code = (msg as KernelMessage.IExecuteInputMsg).content.code;
      this._actions.noteExecuted(this._panel, code);
    }
  }

  private _onUnsaved(_: unknown, panel: NotebookPanel): void {
    if (panel !== this._panel) {
      return;
    }
    const installs = this._actions.unsavedInstalls(panel);
    this.node.dataset.njUnsaved = String(installs.length > 0);
    this._unsavedMark.hidden = installs.length === 0;
    this._unsavedMark.title = installs.length
      ? this._trans.__(
          'Not saved as an environment version yet:\n%1\nUse "Save environment" to keep it; ' +
            'a restart loses it.',
          installs.join('\n')
        )
      : '';
  }

  private _onStatus(_: unknown, status: Kernel.Status): void {
    // A restarted runtime starts from its version again: what was installed is gone.
    if (status === 'restarting' || status === 'autorestarting') {
      this._actions.clearUnsaved(this._panel);
    }
    // A (re)started kernel may run another version: ask once it is idle again.
    if (
      status === 'idle' &&
      this._lastStatus !== 'idle' &&
      this._lastStatus !== 'busy'
    ) {
      this._scheduleRefresh();
    }
    this._lastStatus = status;
  }

  private _scheduleRefresh(delay: unknown = 0): void {
    window.clearTimeout(this._timer);
    this._timer = window.setTimeout(
      () => void this.refresh(),
      typeof delay === 'number' ? delay : 0
    );
  }

  private _showKernel(kernel: Kernel.IKernelConnection | null): void {
    delete this.node.dataset.environment;
    delete this.node.dataset.version;
    const pin = readPin(this._panel.content.model?.getMetadata('nj'));
    const trans = this._trans;
    if (pin) {
      const pinned = `${pin.environment}@${shortVersion(pin.version)}`;
      this._show(
        'pinned',
        trans.__('%1 (not running)', pinned),
        pin.backend,
        kernel
          ? trans.__(
              'The notebook is pinned to %1 (%2), but its kernel is %3. Click to start it, ' +
                'pick another version, or rebuild a missing one.',
              pinned,
              pin.backend,
              kernel.name
            )
          : trans.__(
              'The notebook is pinned to %1 (%2), but no kernel runs. Click to start it, ' +
                'pick another version, or rebuild a missing one.',
              pinned,
              pin.backend
            )
      );
      return;
    }
    if (!kernel) {
      this._show(
        'none',
        trans.__('No runtime'),
        '',
        trans.__(
          'No kernel. Click to pick a jupyter-nj environment for this notebook.'
        )
      );
      return;
    }
    this._show(
      'foreign',
      kernel.name,
      '',
      trans.__(
        'Kernel %1 is not a pinned jupyter-nj runtime. Click to pick an environment.',
        kernel.name
      )
    );
  }

  /** Mark the control, add the warnings to its tooltip, and say them once per kernel. */
  private _showWarnings(kernelId: string, warnings: string[]): void {
    this.node.dataset.warning = String(warnings.length > 0);
    if (warnings.length === 0) {
      return;
    }
    this._button.title += warnings.map(w => `\n⚠ ${w}`).join('');
    if (this._warnedKernel !== kernelId) {
      this._warnedKernel = kernelId;
      for (const warning of warnings) {
        Notification.warning(warning, { autoClose: false });
      }
    }
  }

  private _show(
    state: string,
    label: string,
    backend: string,
    title: string
  ): void {
    this.node.dataset.njState = state;
    this.node.dataset.backend = backend;
    this._label.textContent = label;
    this._backend.textContent = backend;
    this._backend.hidden = !backend;
    this._button.title = title;
  }

  private _button: HTMLButtonElement;
  private _label: HTMLElement;
  private _backend: HTMLElement;
  private _unsavedMark: HTMLElement;
  private _timer = 0;
  private _generation = 0;
  private _lastStatus: Kernel.Status = 'unknown';
  private _warnedKernel = '';
}
