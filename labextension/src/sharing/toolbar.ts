/**
 * The Remix button in every notebook's toolbar, and the line above a remix's cells that says
 * where it came from ("Remixed from … by … at version …", with links to the original and to that
 * version).
 */
import { ToolbarButton } from '@jupyterlab/apputils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { INotebookModel, NotebookPanel } from '@jupyterlab/notebook';
import type { CommandRegistry } from '@lumino/commands';
import { DisposableDelegate, type IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';

import { h } from '../dom';
import { HistoryCommandIDs } from '../history/tokens';
import { apiPath } from '../paths';
import type { ITrans } from '../translation';
import { remixAuthors, remixOf } from './format';
import { SharingCommandIDs } from './tokens';

/**
 * Adds the Remix button to every notebook's toolbar and the remix attribution above its cells.
 */
export class RemixToolbarExtension implements DocumentRegistry.IWidgetExtension<
  NotebookPanel,
  INotebookModel
> {
  /**
   * @param _commands - the application's commands.
   * @param _trans - the jupyter-nj translation bundle.
   */
  constructor(
    private readonly _commands: CommandRegistry,
    private readonly _trans: ITrans
  ) {}

  /** Add both to a new notebook panel. */
  createNew(panel: NotebookPanel): IDisposable {
    const trans = this._trans;
    const button = new ToolbarButton({
      className: 'jp-nj-RemixButton',
      label: trans.__('Remix'),
      tooltip: trans.__(
        'Remix: a copy of your own with the same environment versions, results folder and history'
      ),
      onClick: () =>
        void this._commands.execute(SharingCommandIDs.remixNotebook, {
          path: apiPath(panel.context.path)
        })
    });
    // The attribution above the cells (the toolbar has no room to spare), the button in it.
    const attribution = new RemixAttribution(panel, this._commands, trans);
    panel.contentHeader.addWidget(attribution);
    const names = Array.from(panel.toolbar.names());
    const at = names.indexOf('spacer');
    panel.toolbar.insertItem(at >= 0 ? at : names.length, 'njRemix', button);
    return new DisposableDelegate(() => {
      button.dispose();
      attribution.dispose();
    });
  }
}

/**
 * "Remixed from <original> by <authors> at version <id>", shown while the notebook's metadata
 * says it is a remix.
 */
class RemixAttribution extends Widget {
  constructor(
    private readonly _panel: NotebookPanel,
    private readonly _commands: CommandRegistry,
    private readonly _trans: ITrans
  ) {
    super({ node: h('div', { className: 'jp-nj-RemixedFrom' }) });
    this.hide();
    // In a real-time room the metadata can arrive after `ready`, with the document's first
    // sync: any change of the shared model is a chance to draw (only a new value redraws).
    _panel.context.model.sharedModel.changed.connect(this._render, this);
    _panel.context.model.metadataChanged.connect(this._render, this);
    void _panel.context.ready.then(() => this._render());
  }

  dispose(): void {
    if (!this.isDisposed) {
      this._panel.context.model.sharedModel.changed.disconnect(
        this._render,
        this
      );
      this._panel.context.model.metadataChanged.disconnect(this._render, this);
    }
    super.dispose();
  }

  private _render(): void {
    if (this.isDisposed) {
      return;
    }
    const trans = this._trans;
    const remix = remixOf(this._panel.context.model.getMetadata('nj'));
    const drawn = JSON.stringify(remix);
    if (drawn === this._drawn) {
      return;
    }
    this._drawn = drawn;
    if (!remix) {
      this.node.replaceChildren();
      // Hidden as a widget, so the header's box layout gives it no room.
      this.hide();
      return;
    }
    this.show();
    const own = apiPath(this._panel.context.path);
    const link = (
      text: string,
      action: string,
      title: string,
      run: () => void
    ) =>
      h(
        'a',
        {
          className: 'jp-nj-RemixedFrom-link',
          href: '#',
          title,
          dataset: { action },
          on: {
            click: (event: Event) => {
              event.preventDefault();
              run();
            }
          }
        },
        text
      );
    this.node.dataset.version = remix.from.version;
    this.node.dataset.from = remix.from.path;
    this.node.replaceChildren(
      trans.__('Remixed from '),
      // The file name (the whole path in the tooltip): the toolbar has little room.
      link(
        remix.from.path.split('/').pop() ?? remix.from.path,
        'open-original',
        trans.__('Open the original: %1', remix.from.path),
        () =>
          void this._commands.execute('docmanager:open', {
            path: remix.from.path
          })
      ),
      trans.__(' by %1 at version ', remixAuthors(remix.from, trans)),
      link(
        remix.from.version.slice(0, 8),
        'view-version',
        trans.__('View the version this remix started from'),
        () =>
          void this._commands.execute(HistoryCommandIDs.view, {
            path: own,
            version: remix.from.version
          })
      )
    );
    this.node.title = trans.__('Remixed at %1', remix.at);
  }

  private _drawn = '';
}
