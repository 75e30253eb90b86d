/**
 * Each code cell's runtime, at its side: a small button under the cell's prompt naming the
 * runtime (and its language) that runs the cell; a click opens the cell's runtime menu. The
 * editor of a cell on another runtime highlights that runtime's language.
 */
import type { Cell, ICodeCellModel } from '@jupyterlab/cells';
import type {
  CodeEditor,
  IEditorMimeTypeService
} from '@jupyterlab/codeeditor';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { KernelSpec } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';

import { h } from '../dom';
import type { ITrans } from '../translation';
import { kernelNameFor } from '../runtimes/format';
import {
  MAIN,
  cellRuntimeName,
  declaredRuntimes,
  usesSeveralRuntimes
} from './format';

/**
 * What the badges need from the application.
 */
export interface ICellRuntimesOptions {
  /** The kernelspecs the server offers (each environment's says its language). */
  kernelspecs: Pick<KernelSpec.IManager, 'specs'>;
  /** Finds an editor mimetype for a language; null: editors keep the notebook's. */
  mimeTypes: IEditorMimeTypeService | null;
  /** Opens the runtime menu of `cell` under `anchor`. */
  openMenu: (panel: NotebookPanel, cell: Cell, anchor: HTMLElement) => void;
  /** The jupyter-nj translation bundle. */
  trans: ITrans;
}

/**
 * The runtime language of a notebook's runtime `name`: the kernelspec's of its environment
 * (`main`: the notebook's own language), or '' when not known yet.
 */
export function runtimeLanguage(
  panel: NotebookPanel,
  name: string,
  kernelspecs: ICellRuntimesOptions['kernelspecs']
): string {
  const model = panel.content.model;
  if (name === MAIN) {
    const info = model?.getMetadata('language_info') as
      { name?: string } | undefined;
    return info?.name ?? '';
  }
  const declared = declaredRuntimes(model?.getMetadata('nj'))[name];
  if (!declared) {
    return '';
  }
  const spec =
    kernelspecs.specs?.kernelspecs[kernelNameFor(declared.environment)];
  return spec?.language ?? '';
}

/**
 * The runtime badges of one notebook panel, kept in step with the notebook's cells, its
 * declared runtimes and the cells' metadata (edited here, by a collaborator or on disk).
 */
export class CellRuntimeBadges implements IDisposable {
  /**
   * @param _panel - the notebook panel.
   * @param _options - what the badges need from the application.
   */
  constructor(
    private readonly _panel: NotebookPanel,
    private readonly _options: ICellRuntimesOptions
  ) {
    const notebook = _panel.content;
    void _panel.context.ready.then(() => {
      if (this.isDisposed) {
        return;
      }
      notebook.model?.cells.changed.connect(this._schedule, this);
      notebook.model?.metadataChanged.connect(this._schedule, this);
      this._schedule();
    });
    notebook.modelChanged.connect(this._schedule, this);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    window.cancelAnimationFrame(this._frame);
    const model = this._panel.content.model;
    model?.cells.changed.disconnect(this._schedule, this);
    model?.metadataChanged.disconnect(this._schedule, this);
    for (const cell of this._panel.content.widgets) {
      cell.model.metadataChanged.disconnect(this._schedule, this);
      (cell.model as ICodeCellModel).mimeTypeChanged?.disconnect(
        this._onMimeType,
        this
      );
      cell.inputArea?.node
        .querySelector(':scope > .jp-nj-CellRuntime')
        ?.remove();
    }
  }

  /** Redraw every badge now (the kernelspecs changed, a runtime was added). */
  refresh(): void {
    this._sync();
  }

  /** Batch the many changes of a paste or a load into one redraw. */
  private _schedule(): void {
    if (this._disposed) {
      return;
    }
    window.cancelAnimationFrame(this._frame);
    this._frame = window.requestAnimationFrame(() => this._sync());
  }

  private _sync(): void {
    if (this._disposed || this._panel.isDisposed) {
      return;
    }
    const notebook = this._panel.content;
    const nj = notebook.model?.getMetadata('nj');
    const cells = notebook.widgets.filter(cell => cell.model.type === 'code');
    const several = usesSeveralRuntimes(
      nj,
      cells.map(cell => cellRuntimeName(cell.model.getMetadata('nj')))
    );
    // With one runtime only the active cell shows its badge (the way to add a second one).
    notebook.node.classList.toggle('jp-nj-mod-severalRuntimes', several);
    for (const cell of cells) {
      if (!this._tracked.has(cell)) {
        this._tracked.add(cell);
        cell.model.metadataChanged.connect(this._schedule, this);
        (cell.model as ICodeCellModel).mimeTypeChanged.connect(
          this._onMimeType,
          this
        );
        cell.disposed.connect(() => this._tracked.delete(cell));
        // A cell outside the viewport has no DOM until it is first shown.
        void cell.ready.then(() => this._render(cell));
      } else {
        this._render(cell);
      }
    }
  }

  private _render(cell: Cell): void {
    const host = cell.inputArea?.node;
    if (this._disposed || !host || cell.isDisposed) {
      return;
    }
    const trans = this._options.trans;
    const name = cellRuntimeName(cell.model.getMetadata('nj'));
    const declared = declaredRuntimes(
      this._panel.content.model?.getMetadata('nj')
    );
    const known = name === MAIN || name in declared;
    const language = runtimeLanguage(
      this._panel,
      name,
      this._options.kernelspecs
    );
    let badge = host.querySelector<HTMLButtonElement>(
      ':scope > .jp-nj-CellRuntime'
    );
    if (!badge) {
      badge = h('button', {
        className: 'jp-nj-CellRuntime',
        type: 'button',
        attrs: { 'aria-haspopup': 'menu' },
        on: {
          click: event => {
            event.stopPropagation();
            this._options.openMenu(
              this._panel,
              cell,
              event.currentTarget as HTMLElement
            );
          },
          // The click must not start a drag or a selection of the cell.
          mousedown: event => event.stopPropagation()
        }
      });
      host.classList.add('jp-nj-CellRuntime-host');
      host.append(badge);
    }
    // The name, and the language under it when it says more than the name.
    badge.replaceChildren(
      h('span', { className: 'jp-nj-CellRuntime-name' }, name),
      language && language.toLowerCase() !== name.toLowerCase()
        ? h('span', { className: 'jp-nj-CellRuntime-language' }, language)
        : ''
    );
    badge.dataset.runtime = name;
    badge.dataset.language = language;
    badge.dataset.known = String(known);
    badge.title = known
      ? trans.__(
          'This cell runs on runtime %1%2. Click to run it on another runtime or add one.',
          name,
          name === MAIN
            ? trans.__(' (the notebook’s kernel)')
            : ` (${declared[name].environment})`
        )
      : trans.__(
          'This cell names runtime %1, which the notebook does not declare: running it ' +
            'gives an error. Click to pick a runtime.',
          name
        );
    this._applyMimeType(cell, name, language);
  }

  /** The notebook resets every editor to its kernel's language; keep each cell's own. */
  private _onMimeType(model: CodeEditor.IModel): void {
    const cell = this._panel.content.widgets.find(
      c => (c.model as CodeEditor.IModel) === model
    );
    if (cell) {
      const name = cellRuntimeName(cell.model.getMetadata('nj'));
      this._applyMimeType(
        cell,
        name,
        runtimeLanguage(this._panel, name, this._options.kernelspecs)
      );
    }
  }

  private _applyMimeType(cell: Cell, name: string, language: string): void {
    const service = this._options.mimeTypes;
    if (!service) {
      return;
    }
    const wanted =
      name === MAIN || !language
        ? this._panel.content.codeMimetype
        : service.getMimeTypeByLanguage({ name: language });
    if (wanted && cell.model.mimeType !== wanted) {
      cell.model.mimeType = wanted;
    }
  }

  private _disposed = false;
  private _frame = 0;
  private _tracked = new Set<Cell>();
}
