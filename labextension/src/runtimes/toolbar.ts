/**
 * The runtime control in every notebook's toolbar, and the question before a notebook whose
 * runtime has unsaved installs is closed.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import { DisposableDelegate, type IDisposable } from '@lumino/disposable';
import {
  type IMessageHandler,
  type Message,
  MessageLoop
} from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { h } from '../dom';
import type { ITrans } from '../translation';
import { RuntimeControl } from './control';
import type { IRuntimeActions } from './tokens';

/**
 * Adds the runtime control to every notebook's toolbar.
 */
export class RuntimeToolbarExtension implements DocumentRegistry.IWidgetExtension<
  NotebookPanel,
  INotebookModel
> {
  /**
   * @param _actions - the shared runtime actions.
   * @param _trans - the jupyter-nj translation bundle.
   */
  constructor(
    private readonly _actions: IRuntimeActions,
    private readonly _trans: ITrans
  ) {}

  /** Add the control to a new notebook panel, and guard its closing. */
  createNew(panel: NotebookPanel): IDisposable {
    const control = new RuntimeControl(panel, this._actions, this._trans);
    // Just before the kernel name, where users look for what their notebook runs.
    const names = Array.from(panel.toolbar.names());
    const at = names.indexOf('kernelName');
    panel.toolbar.insertItem(at >= 0 ? at : names.length, 'njRuntime', control);
    const guard = (_: IMessageHandler, msg: Message): boolean =>
      !(msg.type === 'close-request' && this._confirmClose(panel));
    // Hooks run newest first; the document manager installs its close handler (which
    // consumes the message) right after the extensions, so ours goes in after it.
    setTimeout(() => {
      if (!panel.isDisposed) {
        MessageLoop.installMessageHook(panel, guard);
      }
    }, 0);
    return new DisposableDelegate(() => {
      MessageLoop.removeMessageHook(panel, guard);
      control.dispose();
    });
  }

  /**
   * Whether closing must wait for the user: the runtime installed packages that are not saved
   * as an environment version. Then asks (save and close, close anyway, cancel) and closes
   * again when the answer allows it.
   */
  private _confirmClose(panel: NotebookPanel): boolean {
    const installs = this._actions.unsavedInstalls(panel);
    if (installs.length === 0 || this._asking.has(panel)) {
      return installs.length > 0;
    }
    this._asking.add(panel);
    const trans = this._trans;
    const closeAnyway = trans.__('Close without saving');
    const body = h(
      'div',
      { className: 'jp-nj-UnsavedRuntime' },
      h(
        'p',
        {},
        trans.__(
          "This notebook's runtime changed and the change is not saved as an environment " +
            'version. It is lost when the kernel stops:'
        )
      ),
      h('pre', {}, installs.join('\n'))
    );
    void showDialog({
      title: trans.__('Save the environment before closing?'),
      body: new Widget({ node: body }),
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: closeAnyway }),
        Dialog.okButton({ label: trans.__('Save environment and close') })
      ]
    }).then(async result => {
      this._asking.delete(panel);
      if (result.button.label === closeAnyway) {
        this._actions.clearUnsaved(panel);
        panel.close();
      } else if (result.button.accept) {
        const saved = await this._actions.saveEnvironment(panel);
        if (saved) {
          panel.close();
        }
      }
    });
    return true;
  }

  private _asking = new Set<NotebookPanel>();
}
