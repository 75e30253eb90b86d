import { historyIcon, refreshIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import {
  formatAuthors,
  formatSize,
  formatTime,
  groupByDay,
  shortId
} from './format';
import { HistoryModel } from './model';
import { CURRENT_VERSION, type IHistoryVersion } from './tokens';

/**
 * What the panel's buttons do; the plugin supplies them (they open widgets and dialogs).
 */
export interface IHistoryPanelActions {
  /** Open a version read-only. */
  view(path: string, version: IHistoryVersion): void;
  /** Open nbdime's diff from `base` to `remote` (`remote` may be `current`). */
  diff(path: string, base: string, remote: string): void;
  /** Restore a version (the action asks for confirmation). */
  restore(path: string, version: IHistoryVersion): void;
  /** Label a version (the action asks for the text). */
  label(path: string, version: IHistoryVersion): void;
}

/**
 * The History side panel: the current file's versions grouped by day, newest first, with author,
 * label and checkpoint marks, "load more" for older pages, and per-version actions.
 *
 * Every element a test or a user needs carries a stable class and data attributes
 * (`data-version-id`, `data-action`), so the DOM is the panel's contract.
 */
export class HistoryPanel extends Widget {
  constructor(model: HistoryModel, actions: IHistoryPanelActions) {
    super();
    this._model = model;
    this._actions = actions;
    this.id = 'jp-nj-history';
    this.addClass('jp-nj-HistoryPanel');
    this.title.icon = historyIcon;
    this.title.caption = 'History';
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', 'History of the current file');
    this._model.changed.connect(this._render, this);
    this._render();
  }

  /** The panel's model. */
  get model(): HistoryModel {
    return this._model;
  }

  /** DOM events: clicks on buttons and checkboxes, delegated by `data-action`. */
  handleEvent(event: Event): void {
    if (event.type !== 'click') {
      return;
    }
    const target = (event.target as HTMLElement).closest<HTMLElement>(
      '[data-action]'
    );
    if (!target || !this.node.contains(target)) {
      return;
    }
    const path = this._model.path;
    const action = target.dataset.action;
    const id =
      target.closest<HTMLElement>('[data-version-id]')?.dataset.versionId;
    const version = id
      ? this._model.versions.find(v => v.id === id)
      : undefined;
    switch (action) {
      case 'refresh':
        void this._model.refresh();
        return;
      case 'more':
        void this._model.loadMore();
        return;
      case 'compare': {
        const pair = this._model.selectedPair();
        if (path && pair) {
          this._actions.diff(path, pair.base, pair.remote);
        }
        return;
      }
      case 'clear-selection':
        this._model.clearSelection();
        return;
    }
    if (!path || !version) {
      return;
    }
    switch (action) {
      case 'select':
        this._model.toggleSelected(version.id);
        break;
      case 'view':
        this._actions.view(path, version);
        break;
      case 'diff-current':
        this._actions.diff(path, version.id, CURRENT_VERSION);
        break;
      case 'restore':
        this._actions.restore(path, version);
        break;
      case 'label':
        this._actions.label(path, version);
        break;
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this._render, this);
    super.dispose();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.node.addEventListener('click', this);
  }

  protected onBeforeDetach(msg: Message): void {
    this.node.removeEventListener('click', this);
    super.onBeforeDetach(msg);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    // Versions are recorded in the background: showing the panel is a good moment to look again.
    void this._model.refresh();
  }

  private _render(): void {
    const model = this._model;
    this.node.dataset.state = model.error
      ? 'error'
      : model.loading
        ? 'loading'
        : model.path === null
          ? 'no-file'
          : 'ready';
    // Background refreshes usually change nothing: leave the DOM (and the keyboard focus) alone.
    const signature = Private.signature(model);
    if (signature === this._signature) {
      return;
    }
    this._signature = signature;
    const scrollTop = this._list?.scrollTop ?? 0;
    const focused = Private.focusKey(this.node);
    this.node.replaceChildren();
    const header = Private.element('div', 'jp-nj-HistoryPanel-header');
    const title = Private.element('h2', 'jp-nj-HistoryPanel-title', 'History');
    const refresh = Private.iconButton('refresh', 'Refresh the history');
    refreshIcon.element({ container: refresh, tag: 'span' });
    header.append(title, refresh);
    const file = Private.element(
      'div',
      'jp-nj-HistoryPanel-file',
      model.path ?? 'Open a file to see its history.'
    );
    file.title = model.path ?? '';
    this.node.append(header, file);

    if (model.path === null) {
      return;
    }

    const selection = model.selection;
    const compareBar = Private.element('div', 'jp-nj-HistoryPanel-compare');
    const compare = Private.textButton(
      'compare',
      selection.length === 2
        ? 'Compare selected'
        : `Select two versions to compare (${selection.length}/2)`
    );
    compare.disabled = selection.length !== 2;
    compareBar.appendChild(compare);
    if (selection.length > 0) {
      compareBar.appendChild(Private.textButton('clear-selection', 'Clear'));
    }
    this.node.appendChild(compareBar);

    if (model.error) {
      this.node.appendChild(
        Private.element(
          'div',
          'jp-nj-HistoryPanel-error',
          `Could not load the history: ${model.error}`
        )
      );
    }

    const list = Private.element('div', 'jp-nj-HistoryPanel-list');
    this._list = list;
    if (model.loaded && model.versions.length === 0 && !model.error) {
      list.appendChild(
        Private.element(
          'div',
          'jp-nj-HistoryPanel-empty',
          'No versions yet. Every save of this file becomes a version.'
        )
      );
    }
    for (const day of groupByDay([...model.versions])) {
      const section = Private.element('section', 'jp-nj-HistoryDay');
      section.dataset.day = day.key;
      section.appendChild(
        Private.element('h3', 'jp-nj-HistoryDay-label', day.label)
      );
      const items = Private.element('ul', 'jp-nj-HistoryDay-versions');
      for (const version of day.versions) {
        items.appendChild(
          Private.versionItem(version, selection.includes(version.id))
        );
      }
      section.appendChild(items);
      list.appendChild(section);
    }
    if (model.hasMore) {
      const more = Private.textButton(
        'more',
        model.loading ? 'Loading…' : 'Load more'
      );
      more.classList.add('jp-nj-HistoryPanel-more');
      more.disabled = model.loading;
      list.appendChild(more);
    } else if (model.loading && !model.loaded) {
      list.appendChild(
        Private.element('div', 'jp-nj-HistoryPanel-empty', 'Loading…')
      );
    }
    this.node.appendChild(list);
    list.scrollTop = scrollTop;
    Private.restoreFocus(this.node, focused);
  }

  private _model: HistoryModel;
  private _actions: IHistoryPanelActions;
  private _list: HTMLElement | null = null;
  private _signature = '';
}

namespace Private {
  /** Everything the panel shows, as one string: equal strings draw the same DOM. */
  export function signature(model: HistoryModel): string {
    return JSON.stringify([
      model.path,
      model.error,
      model.loaded,
      // "Loading…" shows only before the first page and on the "load more" button.
      model.loading && (!model.loaded || model.hasMore),
      model.hasMore,
      model.selection,
      model.versions,
      // The day labels ("Today") change at midnight.
      new Date().toDateString()
    ]);
  }

  /** What has the keyboard focus in the panel: a button's action and version. */
  export function focusKey(root: HTMLElement): string | null {
    const active = document.activeElement as HTMLElement | null;
    if (!active || !root.contains(active) || !active.dataset.action) {
      return null;
    }
    const id =
      active.closest<HTMLElement>('[data-version-id]')?.dataset.versionId;
    return `${active.dataset.action}|${id ?? ''}`;
  }

  /** Give the focus back to the same button after a redraw. */
  export function restoreFocus(root: HTMLElement, key: string | null): void {
    if (!key) {
      return;
    }
    const [action, id] = key.split('|');
    const scope = id
      ? root.querySelector<HTMLElement>(`[data-version-id="${CSS.escape(id)}"]`)
      : root;
    scope
      ?.querySelector<HTMLElement>(`[data-action="${CSS.escape(action)}"]`)
      ?.focus();
  }

  /** A new element with a class and optional text. */
  export function element<K extends keyof HTMLElementTagNameMap>(
    tag: K,
    className: string,
    text?: string
  ): HTMLElementTagNameMap[K] {
    const node = document.createElement(tag);
    node.className = className;
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  /** A button that triggers `action`, showing `text`. */
  export function textButton(action: string, text: string, title?: string) {
    const button = element('button', 'jp-nj-HistoryButton', text);
    button.type = 'button';
    button.dataset.action = action;
    if (title) {
      button.title = title;
    }
    return button;
  }

  /** An icon-only button with an accessible name. */
  export function iconButton(action: string, title: string) {
    const button = textButton(action, '', title);
    button.classList.add('jp-nj-HistoryButton-icon');
    button.setAttribute('aria-label', title);
    return button;
  }

  /** One version row: selection box, time, label, checkpoint mark, authors, size, actions. */
  export function versionItem(
    version: IHistoryVersion,
    selected: boolean
  ): HTMLLIElement {
    const item = element('li', 'jp-nj-HistoryVersion');
    item.dataset.versionId = version.id;
    if (selected) {
      item.classList.add('jp-mod-selected');
    }
    item.title = `${version.id}\n${version.message}\nby ${version.authors.join(', ')}`;

    const select = element('input', 'jp-nj-HistoryVersion-select');
    select.type = 'checkbox';
    select.checked = selected;
    select.dataset.action = 'select';
    select.setAttribute('aria-label', `Select version ${shortId(version.id)}`);

    const main = element('div', 'jp-nj-HistoryVersion-main');
    const line = element('div', 'jp-nj-HistoryVersion-line');
    line.appendChild(
      element('span', 'jp-nj-HistoryVersion-time', formatTime(version.created))
    );
    if (version.label) {
      line.appendChild(
        element('span', 'jp-nj-HistoryVersion-label', version.label)
      );
    }
    if (version.checkpoint) {
      const mark = element('span', 'jp-nj-HistoryVersion-checkpoint', 'saved');
      mark.title = 'Explicit save (checkpoint)';
      line.appendChild(mark);
    }
    const meta = element(
      'div',
      'jp-nj-HistoryVersion-meta',
      `${formatAuthors(version.authors)} · ${formatSize(version.size)} · ${shortId(version.id)}`
    );
    meta.dataset.authors = version.authors.join(',');
    main.append(line, meta);

    const actions = element('div', 'jp-nj-HistoryVersion-actions');
    actions.append(
      textButton('view', 'View', 'Open this version read-only'),
      textButton(
        'diff-current',
        'Diff',
        'Compare this version with the file as it is now'
      ),
      textButton('restore', 'Restore', 'Make this version the current one'),
      textButton(
        'label',
        version.label ? 'Relabel' : 'Label',
        'Name this version'
      )
    );
    item.append(select, main, actions);
    return item;
  }
}
