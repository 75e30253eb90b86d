import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Dialog, ICommandPalette, showDialog } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import {
  INotebookModel,
  INotebookTracker,
  NotebookPanel
} from '@jupyterlab/notebook';
import { saveIcon } from '@jupyterlab/ui-components';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { IMessageHandler, Message, MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { INJStatusModel } from '../tokens';
import { RuntimeActions } from './actions';
import { RuntimesClient } from './client';
import { RuntimeControl } from './control';
import { EnvironmentsPanel } from './panel';
import { RuntimeCommandIDs } from './tokens';

const PLUGIN_ID = 'jupyter-nj:runtimes';

/**
 * The Runtimes plugin: a runtime control in every notebook's toolbar (environment@version and
 * backend, a menu to pick another environment or version, "Save environment") and the
 * Environments side panel (environments, versions, builds and their errors).
 */
export const runtimesPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Pick, pin and save the environment a notebook runs in.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ICommandPalette, INJStatusModel],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    status: INJStatusModel | null
  ): void => {
    const client = new RuntimesClient(app.serviceManager.serverSettings);
    const openEnvironments = () => {
      app.shell.activateById(panel.id);
    };
    const actions = new RuntimeActions(
      client,
      app.serviceManager.kernelspecs,
      openEnvironments
    );
    const panel = new EnvironmentsPanel(
      actions,
      () => tracker.currentWidget,
      status
    );
    app.shell.add(panel, 'left', { rank: 620 });
    restorer?.add(panel, 'jp-nj-environments');
    tracker.currentChanged.connect(() => {
      if (panel.isVisible) {
        void panel.refresh();
      }
    });

    // Builds and snapshots made anywhere on the server show up live.
    app.serviceManager.events.stream.connect((_, event) =>
      actions.handleEvent(event)
    );

    app.docRegistry.addWidgetExtension(
      'Notebook',
      new Private.ToolbarExtension(actions)
    );

    app.commands.addCommand(RuntimeCommandIDs.openEnvironments, {
      label: 'jupyter-nj: Open Environments Panel',
      execute: openEnvironments
    });
    app.commands.addCommand(RuntimeCommandIDs.saveEnvironment, {
      label: 'Save Environment',
      caption:
        "Save the notebook's runtime as a new environment version and pin the notebook to it",
      icon: saveIcon,
      isEnabled: () => tracker.currentWidget !== null,
      execute: async () => {
        const current = tracker.currentWidget;
        return current ? actions.saveEnvironment(current) : null;
      }
    });
    app.commands.addCommand(RuntimeCommandIDs.pickRuntime, {
      label: 'jupyter-nj: Pick Runtime Environment…',
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
    if (palette) {
      for (const command of [
        RuntimeCommandIDs.openEnvironments,
        RuntimeCommandIDs.saveEnvironment,
        RuntimeCommandIDs.pickRuntime
      ]) {
        palette.addItem({ command, category: 'jupyter-nj' });
      }
    }
  }
};

namespace Private {
  /**
   * Adds the runtime control to every notebook's toolbar.
   */
  export class ToolbarExtension implements DocumentRegistry.IWidgetExtension<
    NotebookPanel,
    INotebookModel
  > {
    constructor(private readonly _actions: RuntimeActions) {}

    createNew(panel: NotebookPanel): IDisposable {
      const control = new RuntimeControl(panel, this._actions);
      // Just before the kernel name, where users look for what their notebook runs.
      const names = Array.from(panel.toolbar.names());
      const at = names.indexOf('kernelName');
      panel.toolbar.insertItem(
        at >= 0 ? at : names.length,
        'njRuntime',
        control
      );
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
      const body = document.createElement('div');
      body.className = 'jp-nj-UnsavedRuntime';
      const text = document.createElement('p');
      text.textContent =
        "This notebook's runtime changed and the change is not saved as an environment " +
        'version. It is lost when the kernel stops:';
      const list = document.createElement('pre');
      list.textContent = installs.join('\n');
      body.append(text, list);
      void showDialog({
        title: 'Save the environment before closing?',
        body: new Widget({ node: body }),
        buttons: [
          Dialog.cancelButton(),
          Dialog.warnButton({ label: 'Close without saving' }),
          Dialog.okButton({ label: 'Save environment and close' })
        ]
      }).then(async result => {
        this._asking.delete(panel);
        if (result.button.label === 'Close without saving') {
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
}
