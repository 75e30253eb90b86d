import {
  downloadIcon,
  historyIcon,
  refreshIcon
} from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { h, type Props } from '../dom';
import { type ITrans, untranslated } from '../translation';
import {
  formatSize,
  formatTime,
  formatVersionAuthors,
  groupByDay,
  shortId
} from './format';
import {
  CURRENT_VERSION,
  type IHistoryModel,
  type IHistoryVersion
} from './tokens';

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
  /** Download a version as Markdown (the Sharing plugin's export). */
  download(path: string, version: IHistoryVersion): void;
  /** Remix a version into a new notebook (the Sharing plugin's remix). */
  remix(path: string, version: IHistoryVersion): void;
}

/**
 * The History side panel: the current file's versions grouped by day, newest first, with author,
 * label and checkpoint marks, "load more" for older pages, and per-version actions.
 *
 * Every element a test or a user needs carries a stable class and data attributes
 * (`data-version-id`, `data-action`), so the DOM is the panel's contract.
 */
export class HistoryPanel extends Widget {
  /**
   * @param model - the current file's versions.
   * @param actions - what the per-version buttons do.
   * @param trans - the jupyter-nj translation bundle.
   */
  constructor(
    model: IHistoryModel,
    actions: IHistoryPanelActions,
    trans: ITrans = untranslated
  ) {
    super();
    this._model = model;
    this._actions = actions;
    this._trans = trans;
    this.id = 'jp-nj-history';
    this.addClass('jp-nj-HistoryPanel');
    this.title.icon = historyIcon;
    this.title.caption = trans.__('History');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute(
      'aria-label',
      trans.__('History of the current file')
    );
    this._model.changed.connect(this._render, this);
    this._render();
  }

  /** The panel's model. */
  get model(): IHistoryModel {
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
      case 'download':
        this._actions.download(path, version);
        break;
      case 'remix':
        this._actions.remix(path, version);
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
    const trans = this._trans;
    const selection = model.selection;
    // Only notebooks are exported as Markdown.
    const notebook = /\.ipynb$/i.test(model.path ?? '');
    const header = h(
      'div',
      { className: 'jp-nj-HistoryPanel-header' },
      h('h2', { className: 'jp-nj-HistoryPanel-title' }, trans.__('History')),
      Private.iconButton('refresh', trans.__('Refresh the history'))
    );
    const file = h(
      'div',
      { className: 'jp-nj-HistoryPanel-file', title: model.path ?? '' },
      model.path ?? trans.__('Open a file to see its history.')
    );
    if (model.path === null) {
      this.node.replaceChildren(header, file);
      return;
    }
    const compareBar = h(
      'div',
      { className: 'jp-nj-HistoryPanel-compare' },
      Private.textButton(
        'compare',
        selection.length === 2
          ? trans.__('Compare selected')
          : trans.__('Select two versions to compare (%1/2)', selection.length),
        { disabled: selection.length !== 2 }
      ),
      selection.length > 0 &&
        Private.textButton('clear-selection', trans.__('Clear'))
    );
    const error =
      model.error &&
      h(
        'div',
        { className: 'jp-nj-HistoryPanel-error' },
        trans.__('Could not load the history: %1', model.error)
      );
    const list = h(
      'div',
      { className: 'jp-nj-HistoryPanel-list' },
      model.loaded &&
        model.versions.length === 0 &&
        !model.error &&
        h(
          'div',
          { className: 'jp-nj-HistoryPanel-empty' },
          trans.__(
            'No versions yet. Every save of this file becomes a version.'
          )
        ),
      ...Private.days(
        model.versions.filter(v => !v.before_remix),
        selection,
        trans,
        notebook
      ),
      model.versions.some(v => v.before_remix) &&
        h(
          'section',
          { className: 'jp-nj-HistoryBeforeRemix' },
          h(
            'h3',
            { className: 'jp-nj-HistoryBeforeRemix-title' },
            trans.__('Before the remix')
          ),
          h(
            'div',
            { className: 'jp-nj-HistoryBeforeRemix-note' },
            trans.__(
              'Versions of %1, the notebook this one was remixed from. View, compare or restore them here; the original keeps its own.',
              model.versions.find(v => v.before_remix)?.path ?? ''
            )
          ),
          ...Private.days(
            model.versions.filter(v => v.before_remix),
            selection,
            trans,
            notebook
          )
        ),
      model.hasMore
        ? Private.textButton(
            'more',
            model.loading ? trans.__('Loading…') : trans.__('Load more'),
            {
              className: 'jp-nj-HistoryButton jp-nj-HistoryPanel-more',
              disabled: model.loading
            }
          )
        : model.loading &&
            !model.loaded &&
            h(
              'div',
              { className: 'jp-nj-HistoryPanel-empty' },
              trans.__('Loading…')
            )
    );
    this._list = list;
    this.node.replaceChildren(
      header,
      file,
      compareBar,
      ...(error ? [error] : []),
      list
    );
    list.scrollTop = scrollTop;
    Private.restoreFocus(this.node, focused);
  }

  private _model: IHistoryModel;
  private _trans: ITrans;
  private _actions: IHistoryPanelActions;
  private _list: HTMLElement | null = null;
  private _signature = '';
}

namespace Private {
  /** Versions grouped by day, one section per day. */
  export function days(
    versions: IHistoryVersion[],
    selection: readonly string[],
    trans: ITrans,
    notebook: boolean
  ): HTMLElement[] {
    return groupByDay([...versions], undefined, undefined, trans).map(day =>
      h(
        'section',
        { className: 'jp-nj-HistoryDay', dataset: { day: day.key } },
        h('h3', { className: 'jp-nj-HistoryDay-label' }, day.label),
        h(
          'ul',
          { className: 'jp-nj-HistoryDay-versions' },
          ...day.versions.map(version =>
            versionItem(
              version,
              selection.includes(version.id),
              trans,
              notebook
            )
          )
        )
      )
    );
  }

  /** Everything the panel shows, as one string: equal strings draw the same DOM. */
  export function signature(model: IHistoryModel): string {
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

  /** A button that triggers `action`, showing `text`. */
  export function textButton(
    action: string,
    text: string,
    props: Props<HTMLButtonElement> = {}
  ): HTMLButtonElement {
    return h(
      'button',
      {
        className: 'jp-nj-HistoryButton',
        type: 'button',
        dataset: { action },
        ...props
      },
      text
    );
  }

  /** An icon-only button with an accessible name (the refresh icon unless told). */
  export function iconButton(
    action: string,
    title: string,
    icon = refreshIcon
  ): HTMLButtonElement {
    const button = textButton(action, '', {
      className: 'jp-nj-HistoryButton jp-nj-HistoryButton-icon',
      title,
      attrs: { 'aria-label': title }
    });
    icon.element({ container: button, tag: 'span' });
    return button;
  }

  /**
   * One version row: selection box, time, label, checkpoint mark, authors, size, actions (and
   * the Markdown download, for notebooks).
   */
  export function versionItem(
    version: IHistoryVersion,
    selected: boolean,
    trans: ITrans,
    downloadable: boolean
  ): HTMLLIElement {
    const usernames = version.authors.join(', ');
    return h(
      'li',
      {
        className: `jp-nj-HistoryVersion${selected ? ' jp-mod-selected' : ''}`,
        dataset: {
          versionId: version.id,
          ...(version.before_remix ? { beforeRemix: 'true' } : {})
        },
        title: trans.__('%1\n%2\nby %3', version.id, version.message, usernames)
      },
      h('input', {
        className: 'jp-nj-HistoryVersion-select',
        type: 'checkbox',
        checked: selected,
        dataset: { action: 'select' },
        attrs: {
          'aria-label': trans.__('Select version %1', shortId(version.id))
        }
      }),
      h(
        'div',
        { className: 'jp-nj-HistoryVersion-main' },
        h(
          'div',
          { className: 'jp-nj-HistoryVersion-line' },
          h(
            'span',
            { className: 'jp-nj-HistoryVersion-time' },
            formatTime(version.created)
          ),
          version.label &&
            h(
              'span',
              { className: 'jp-nj-HistoryVersion-label' },
              version.label
            ),
          version.checkpoint &&
            h(
              'span',
              {
                className: 'jp-nj-HistoryVersion-checkpoint',
                title: trans.__('Explicit save (checkpoint)')
              },
              trans.__('saved')
            ),
          downloadable &&
            iconButton(
              'download',
              trans.__('Download as Markdown'),
              downloadIcon
            )
        ),
        h(
          'div',
          {
            className: 'jp-nj-HistoryVersion-meta',
            // Display names are what people read; the usernames stay one hover away.
            title: trans.__('Authors: %1', usernames),
            dataset: { authors: version.authors.join(',') }
          },
          `${formatVersionAuthors(version, trans)} · ${formatSize(version.size)} · ${shortId(version.id)}`
        )
      ),
      h(
        'div',
        { className: 'jp-nj-HistoryVersion-actions' },
        textButton('view', trans.__('View'), {
          title: trans.__('Open this version read-only')
        }),
        textButton('diff-current', trans.__('Diff'), {
          title: trans.__('Compare this version with the file as it is now')
        }),
        textButton('restore', trans.__('Restore'), {
          title: trans.__('Make this version the current one')
        }),
        !version.before_remix &&
          textButton(
            'label',
            version.label ? trans.__('Relabel') : trans.__('Label'),
            { title: trans.__('Name this version') }
          ),
        downloadable &&
          textButton('remix', trans.__('Remix'), {
            title: trans.__(
              'Make a new notebook of your own from this version, with its environment versions, results folder and history'
            )
          })
      )
    );
  }
}
