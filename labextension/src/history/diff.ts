import type { CodeEditor } from '@jupyterlab/codeeditor';
import type * as nbformat from '@jupyterlab/nbformat';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { type ITranslator, nullTranslator } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Panel, Widget } from '@lumino/widgets';
import { createNbdimeMergeView } from 'nbdime/lib/common/mergeview';
import type { IDiffEntry } from 'nbdime/lib/diff/diffentries';
import {
  type CellDiffModel,
  createPatchStringDiffModel,
  NotebookDiffModel
} from 'nbdime/lib/diff/model';
import { CellDiffWidget, MetadataDiffWidget } from 'nbdime/lib/diff/widget';
import {
  ADDED_CHUNK_PANEL_CLASS,
  CHUNK_PANEL_CLASS,
  REMOVED_CHUNK_PANEL_CLASS
} from 'nbdime/lib/diff/widget/common';

import { h } from '../dom';
import { TRANSLATION_DOMAIN, type ITrans } from '../translation';
import { shortId } from './format';
import type { IHistoryClient, IHistoryDiff } from './tokens';

/**
 * nbdime's rendered diff of two versions of a file (or of a version and the file as it is now).
 *
 * The server computes the diff (off its event loop, cached); this widget draws it with nbdime's
 * own cell widgets. Runs of unchanged cells are collapsed into one "N unchanged cells" bar and
 * only built when the user expands them, so a large notebook with a small change renders quickly
 * (nbdime's stock widget renders every cell and hides unchanged ones with CSS). "Ignore outputs"
 * asks the server for a diff of sources and metadata only.
 */
export class HistoryDiffView extends Panel {
  constructor(options: HistoryDiffView.IOptions) {
    super();
    this._options = options;
    const trans = (options.translator ?? nullTranslator).load(
      TRANSLATION_DOMAIN
    );
    this._trans = trans;
    this.addClass('jp-nj-HistoryDiff');
    this.node.dataset.path = options.path;
    this.node.dataset.base = options.base;
    this.node.dataset.remote = options.remote;

    const bar = new Widget({ node: Private.optionsBar(trans) });
    bar.addClass('jp-nj-HistoryDiff-options');
    this._ignoreOutputs = bar.node.querySelector(
      'input[data-option="ignore-outputs"]'
    ) as HTMLInputElement;
    this._hideUnchanged = bar.node.querySelector(
      'input[data-option="hide-unchanged"]'
    ) as HTMLInputElement;
    this._ignoreOutputs.checked = options.ignoreOutputs ?? false;
    this._hideUnchanged.checked = true;
    this.addWidget(bar);

    const banner = new Widget({
      node: Private.banner(
        options.baseLabel ?? shortId(options.base),
        options.remoteLabel ?? shortId(options.remote)
      )
    });
    this.addWidget(banner);

    this._scroller = new Panel();
    this._scroller.addClass('jp-nj-HistoryDiff-scroller');
    this._scroller.node.tabIndex = -1;
    this.addWidget(this._scroller);
  }

  /** Whether the diff leaves outputs out. */
  get ignoreOutputs(): boolean {
    return this._ignoreOutputs.checked;
  }

  /** Fetch the diff (again, with the current options) and draw it. */
  async load(): Promise<void> {
    const generation = ++this._generation;
    this._setState('loading');
    this._clear();
    this._scroller.addWidget(
      Private.message(this._trans.__('Computing the diff…'))
    );
    let answer: IHistoryDiff;
    try {
      answer = await this._options.client.diff(
        this._options.path,
        this._options.base,
        this._options.remote,
        { ignoreOutputs: this.ignoreOutputs }
      );
    } catch (error) {
      if (generation === this._generation && !this.isDisposed) {
        this._clear();
        this._scroller.addWidget(
          Private.message(
            this._trans.__(
              'Could not compute the diff: %1',
              (error as Error).message
            ),
            true
          )
        );
        this._setState('error');
      }
      return;
    }
    if (generation !== this._generation || this.isDisposed) {
      return;
    }
    this._answer = answer;
    await this._draw(generation);
  }

  /** DOM events: option changes and clicks on collapsed runs. */
  handleEvent(event: Event): void {
    const target = event.target as HTMLElement;
    if (event.type === 'change' && target === this._ignoreOutputs) {
      void this.load();
    } else if (event.type === 'change' && target === this._hideUnchanged) {
      if (this._answer) {
        void this._draw(++this._generation);
      }
    } else if (event.type === 'click') {
      const bar = target.closest<HTMLElement>('.jp-nj-HistoryDiff-collapsed');
      if (bar) {
        this._expand(bar);
      }
    }
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.node.addEventListener('change', this);
    this.node.addEventListener('click', this);
  }

  protected onBeforeDetach(msg: Message): void {
    this.node.removeEventListener('change', this);
    this.node.removeEventListener('click', this);
    super.onBeforeDetach(msg);
  }

  protected onActivateRequest(msg: Message): void {
    this._scroller.node.focus();
  }

  /** Draw the last answer with the current "hide unchanged" choice. */
  private async _draw(generation: number): Promise<void> {
    const answer = this._answer!;
    this._setState('loading');
    this._clear();
    this._collapsed.clear();
    try {
      if (typeof answer.base === 'string') {
        this._drawText(answer.base, answer.diff as IDiffEntry[]);
      } else {
        await this._drawNotebook(
          answer.base as nbformat.INotebookContent,
          answer.diff as IDiffEntry[],
          generation
        );
      }
    } catch (error) {
      if (generation === this._generation && !this.isDisposed) {
        this._clear();
        this._scroller.addWidget(
          Private.message(
            this._trans.__(
              'Could not draw the diff: %1',
              (error as Error).message
            ),
            true
          )
        );
        this._setState('error');
      }
      return;
    }
    if (generation === this._generation && !this.isDisposed) {
      this._setState('ready');
    }
  }

  private _drawText(base: string, diff: IDiffEntry[]): void {
    const model = createPatchStringDiffModel(base, diff);
    const view = createNbdimeMergeView({
      remote: model,
      factory: this._options.editorFactory,
      collapseIdentical: this._hideUnchanged.checked ? 3 : false,
      translator: this._options.translator
    });
    view.addClass('jp-nj-HistoryDiff-text');
    this._scroller.addWidget(view);
    if (model.unchanged) {
      this._scroller.insertWidget(
        0,
        Private.message(this._trans.__('No differences.'))
      );
    }
  }

  private async _drawNotebook(
    base: nbformat.INotebookContent,
    diff: IDiffEntry[],
    generation: number
  ): Promise<void> {
    const model = new NotebookDiffModel(base, diff);
    const root = new Panel();
    // nbdime's stylesheet scopes its notebook diff rules under this class.
    root.addClass('jp-Notebook-diff');
    this._scroller.addWidget(root);

    if (model.metadata && !model.metadata.unchanged) {
      root.addWidget(
        new MetadataDiffWidget({
          model: model.metadata,
          editorFactory: this._options.editorFactory,
          translator: this._options.translator
        })
      );
    }
    const hide = this._hideUnchanged.checked;
    let unchangedRun: CellDiffModel[] = [];
    let changedCells = 0;
    const flushRun = () => {
      if (unchangedRun.length === 0) {
        return;
      }
      if (hide) {
        root.addWidget(this._collapsedBar(unchangedRun, model.mimetype));
      } else {
        for (const cell of unchangedRun) {
          root.addWidget(this._cellWidget(cell, model.mimetype));
        }
      }
      unchangedRun = [];
    };
    let drawn = 0;
    for (const chunk of model.chunkedCells) {
      if (generation !== this._generation || this.isDisposed) {
        return;
      }
      if (chunk.length === 1 && chunk[0].unchanged) {
        unchangedRun.push(chunk[0]);
        continue;
      }
      flushRun();
      changedCells += chunk.length;
      if (chunk.length === 1 && !(chunk[0].added || chunk[0].deleted)) {
        root.addWidget(this._cellWidget(chunk[0], model.mimetype));
      } else {
        // Cells added and removed at the same place are shown side by side, as nbdime does.
        const chunkPanel = new Panel();
        chunkPanel.addClass(CHUNK_PANEL_CLASS);
        const added = new Panel();
        added.addClass(ADDED_CHUNK_PANEL_CLASS);
        const removed = new Panel();
        removed.addClass(REMOVED_CHUNK_PANEL_CLASS);
        for (const cell of chunk) {
          (cell.deleted ? removed : added).addWidget(
            this._cellWidget(cell, model.mimetype)
          );
        }
        chunkPanel.addWidget(added);
        chunkPanel.addWidget(removed);
        root.addWidget(chunkPanel);
      }
      drawn += chunk.length;
      if (drawn % 20 === 0) {
        // Give the browser a frame now and then so a large diff does not freeze the page.
        await new Promise(resolve => setTimeout(resolve, 0));
      }
    }
    flushRun();
    this.node.dataset.changedCells = String(changedCells);
    if (changedCells === 0 && (!model.metadata || model.metadata.unchanged)) {
      this._scroller.insertWidget(
        0,
        Private.message(
          this.ignoreOutputs
            ? this._trans.__('No differences (outputs ignored).')
            : this._trans.__('No differences.')
        )
      );
    }
  }

  private _cellWidget(cell: CellDiffModel, mimetype: string): CellDiffWidget {
    return new CellDiffWidget({
      model: cell,
      rendermime: this._options.rendermime,
      mimetype,
      editorFactory: this._options.editorFactory,
      translator: this._options.translator
    });
  }

  /** A bar standing for a run of unchanged cells; its cells are built on expand. */
  private _collapsedBar(cells: CellDiffModel[], mimetype: string): Widget {
    const node = h(
      'button',
      {
        type: 'button',
        className: 'jp-nj-HistoryDiff-collapsed',
        dataset: { cells: String(cells.length) }
      },
      cells.length === 1
        ? this._trans.__('1 unchanged cell (show)')
        : this._trans.__('%1 unchanged cells (show)', cells.length)
    );
    const bar = new Widget({ node });
    this._collapsed.set(node, { widget: bar, cells, mimetype });
    return bar;
  }

  private _expand(node: HTMLElement): void {
    const run = this._collapsed.get(node);
    const parent = run?.widget.parent;
    if (!run || !(parent instanceof Panel)) {
      return;
    }
    const index = parent.widgets.indexOf(run.widget);
    run.cells.forEach((cell, offset) =>
      parent.insertWidget(index + offset, this._cellWidget(cell, run.mimetype))
    );
    this._collapsed.delete(node);
    run.widget.dispose();
  }

  private _clear(): void {
    for (const widget of [...this._scroller.widgets]) {
      widget.dispose();
    }
  }

  private _setState(state: 'loading' | 'ready' | 'error'): void {
    this.node.dataset.state = state;
  }

  private _options: HistoryDiffView.IOptions;
  private _trans: ITrans;
  private _scroller: Panel;
  private _ignoreOutputs: HTMLInputElement;
  private _hideUnchanged: HTMLInputElement;
  private _answer: IHistoryDiff | null = null;
  private _generation = 0;
  private _collapsed = new Map<
    HTMLElement,
    { widget: Widget; cells: CellDiffModel[]; mimetype: string }
  >();
}

/**
 * The HistoryDiffView's statics.
 */
export namespace HistoryDiffView {
  /**
   * Construction options.
   */
  export interface IOptions {
    /** The History REST client. */
    client: IHistoryClient;
    /** The file's API path (no drive prefix). */
    path: string;
    /** The base version id. */
    base: string;
    /** The remote version id, or `current`. */
    remote: string;
    /** Renders outputs and Markdown. */
    rendermime: IRenderMimeRegistry;
    /** JupyterLab's editor factory, so the diff's editors follow the user's editor settings. */
    editorFactory?: CodeEditor.Factory;
    /** The application's translator. */
    translator?: ITranslator;
    /** Shown over the left (base) side; the short id by default. */
    baseLabel?: string;
    /** Shown over the right (remote) side; the short id by default. */
    remoteLabel?: string;
    /** Start with outputs ignored. */
    ignoreOutputs?: boolean;
  }
}

namespace Private {
  /** The options bar: ignore outputs, hide unchanged cells. */
  export function optionsBar(trans: ITrans): HTMLElement {
    return h(
      'div',
      {},
      ...[
        ['hide-unchanged', trans.__('Hide unchanged cells')],
        ['ignore-outputs', trans.__('Ignore outputs')]
      ].map(([option, text]) =>
        h(
          'label',
          {},
          h('input', { type: 'checkbox', dataset: { option } }),
          ` ${text}`
        )
      )
    );
  }

  /** The two sides' names over the diff. */
  export function banner(base: string, remote: string): HTMLElement {
    return h(
      'div',
      { className: 'jp-nj-HistoryDiff-banner' },
      h('span', { className: 'jp-nj-HistoryDiff-base' }, base),
      h('span', { className: 'jp-nj-HistoryDiff-remote' }, remote)
    );
  }

  /** A line of text in the scroller (progress, "no differences", errors). */
  export function message(text: string, isError = false): Widget {
    const widget = new Widget();
    widget.addClass('jp-nj-HistoryDiff-message');
    if (isError) {
      widget.addClass('jp-mod-error');
    }
    widget.node.textContent = text;
    return widget;
  }
}
