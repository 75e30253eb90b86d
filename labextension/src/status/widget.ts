import { showPopup } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';

import { INJStatusModel } from '../tokens';
import { describe, summarize } from './model';

/**
 * The status bar item: a dot per backend and a one-line summary. Clicking it opens the panel.
 */
export class StatusItem extends Widget {
  constructor(model: INJStatusModel) {
    super();
    this._model = model;
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
    const panel = new StatusPanel(this._model);
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
    this.node.replaceChildren();
    for (const backend of status?.backends ?? []) {
      const dot = document.createElement('span');
      dot.className = 'jp-nj-StatusItem-dot';
      if (backend.live) {
        dot.classList.add('jp-nj-mod-live');
      }
      dot.dataset.backend = backend.name;
      dot.dataset.live = String(backend.live);
      this.node.appendChild(dot);
    }
    const label = document.createElement('span');
    label.className = 'jp-nj-StatusItem-label';
    label.textContent = summarize(status, error);
    this.node.appendChild(label);
    this.node.title = describe(status);
    this.node.setAttribute(
      'data-nj-status',
      status ? 'ready' : error ? 'error' : 'loading'
    );
  }

  private _model: INJStatusModel;
  private _popup: Widget | null = null;
}

/**
 * The details panel: every backend, what the server found, and what to do when it is down.
 */
export class StatusPanel extends Widget {
  constructor(model: INJStatusModel) {
    super();
    this._model = model;
    this.addClass('jp-nj-StatusPanel');
    this._model.changed.connect(this._render, this);
    this._render();
  }

  dispose(): void {
    this._model.changed.disconnect(this._render, this);
    super.dispose();
  }

  private _render(): void {
    const { status, error } = this._model;
    this.node.replaceChildren();
    const title = document.createElement('h3');
    title.textContent = status ? `jupyter-nj ${status.version}` : 'jupyter-nj';
    this.node.appendChild(title);
    if (error) {
      const err = document.createElement('div');
      err.className = 'jp-nj-StatusPanel-hint';
      err.textContent = `Could not refresh: ${error}`;
      this.node.appendChild(err);
    }
    for (const backend of status?.backends ?? []) {
      const row = document.createElement('div');
      row.className = 'jp-nj-StatusPanel-row';
      row.dataset.backend = backend.name;
      const dot = document.createElement('span');
      dot.className = 'jp-nj-StatusItem-dot';
      if (backend.live) {
        dot.classList.add('jp-nj-mod-live');
      }
      const label = document.createElement('span');
      label.className = 'jp-nj-StatusPanel-label';
      label.textContent = `${backend.label}: ${backend.live ? 'live' : 'not live'}`;
      const detail = document.createElement('span');
      detail.className = 'jp-nj-StatusPanel-detail';
      detail.textContent = backend.detail;
      row.append(dot, label, detail);
      if (!backend.live && backend.hint) {
        const hint = document.createElement('span');
        hint.className = 'jp-nj-StatusPanel-hint';
        hint.textContent = backend.hint;
        row.appendChild(hint);
      }
      this.node.appendChild(row);
    }
  }

  private _model: INJStatusModel;
}
