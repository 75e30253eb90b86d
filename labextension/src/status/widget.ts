import { showPopup } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';

import { h } from '../dom';
import { INJStatusModel } from '../tokens';
import { type ITrans, untranslated } from '../translation';
import { describe, summarize } from './model';

/**
 * The status bar item: a dot per backend and a one-line summary. Clicking it opens the panel.
 */
export class StatusItem extends Widget {
  /**
   * @param model - which backends are live.
   * @param trans - the jupyter-nj translation bundle.
   */
  constructor(model: INJStatusModel, trans: ITrans = untranslated) {
    super();
    this._model = model;
    this._trans = trans;
    this.addClass('jp-nj-StatusItem');
    this.node.setAttribute('role', 'button');
    this.node.setAttribute('data-nj-status', 'loading');
    this._model.changed.connect(this._render, this);
    this._render();
  }

  /** Open the details panel anchored to this item. */
  openPanel(): void {
    if (this._popup && !this._popup.isDisposed) {
      this._popup.dispose();
      this._popup = null;
      return;
    }
    const panel = new StatusPanel(this._model, this._trans);
    this._popup = showPopup({ body: panel, anchor: this, align: 'left' });
  }

  protected onAfterAttach(): void {
    this.node.addEventListener('click', this);
  }

  protected onBeforeDetach(): void {
    this.node.removeEventListener('click', this);
  }

  /** DOM events: a click toggles the panel. */
  handleEvent(event: Event): void {
    if (event.type === 'click') {
      this.openPanel();
    }
  }

  dispose(): void {
    this._model.changed.disconnect(this._render, this);
    this._popup?.dispose();
    super.dispose();
  }

  private _render(): void {
    const { status, error } = this._model;
    this.node.replaceChildren(
      ...(status?.backends ?? []).map(backend => Private.dot(backend)),
      h(
        'span',
        { className: 'jp-nj-StatusItem-label' },
        summarize(status, error, this._trans)
      )
    );
    this.node.title = describe(status, this._trans);
    this.node.setAttribute(
      'data-nj-status',
      status ? 'ready' : error ? 'error' : 'loading'
    );
  }

  private _model: INJStatusModel;
  private _trans: ITrans;
  private _popup: Widget | null = null;
}

/**
 * The details panel: every backend, what the server found, and what to do when it is down.
 */
export class StatusPanel extends Widget {
  /**
   * @param model - which backends are live.
   * @param trans - the jupyter-nj translation bundle.
   */
  constructor(model: INJStatusModel, trans: ITrans = untranslated) {
    super();
    this._model = model;
    this._trans = trans;
    this.addClass('jp-nj-StatusPanel');
    this._model.changed.connect(this._render, this);
    this._render();
  }

  dispose(): void {
    this._model.changed.disconnect(this._render, this);
    super.dispose();
  }

  private _render(): void {
    const trans = this._trans;
    const { status, error } = this._model;
    this.node.replaceChildren(
      h('h3', {}, status ? `jupyter-nj ${status.version}` : 'jupyter-nj'),
      ...(error
        ? [
            h(
              'div',
              { className: 'jp-nj-StatusPanel-hint' },
              trans.__('Could not refresh: %1', error)
            )
          ]
        : []),
      ...(status?.backends ?? []).map(backend =>
        h(
          'div',
          {
            className: 'jp-nj-StatusPanel-row',
            dataset: { backend: backend.name }
          },
          h('span', {
            className: `jp-nj-StatusItem-dot${backend.live ? ' jp-nj-mod-live' : ''}`
          }),
          h(
            'span',
            { className: 'jp-nj-StatusPanel-label' },
            backend.live
              ? trans.__('%1: live', backend.label)
              : trans.__('%1: not live', backend.label)
          ),
          h('span', { className: 'jp-nj-StatusPanel-detail' }, backend.detail),
          !backend.live &&
            backend.hint &&
            h('span', { className: 'jp-nj-StatusPanel-hint' }, backend.hint)
        )
      )
    );
  }

  private _model: INJStatusModel;
  private _trans: ITrans;
}

namespace Private {
  /** A backend's dot in the status bar: filled when it is live. */
  export function dot(backend: {
    name: string;
    live: boolean;
  }): HTMLSpanElement {
    return h('span', {
      className: `jp-nj-StatusItem-dot${backend.live ? ' jp-nj-mod-live' : ''}`,
      dataset: { backend: backend.name, live: String(backend.live) }
    });
  }
}
