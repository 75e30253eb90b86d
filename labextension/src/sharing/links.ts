/**
 * Draft links: File > Share Draft Link… opens a dialog that creates a secret, read-only link to
 * the current notebook (shown once, with a copy button), lists the notebook's active links and
 * revokes them (`/nj/api/links`). The page at the link follows the author's saves. Under
 * JupyterHub it also shares the notebook with a hub user or group by name (the hub's users and
 * groups offered from `/nj/api/principals`); elsewhere it says why that is not there.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { h } from '../dom';
import { requestAPI } from '../request';
import type { ITrans } from '../translation';
import { describeShareTarget, shareChoices, shareTargetOf } from './format';
import type { IPrincipals, ShareTarget } from './tokens';

/** The command that opens the Share dialog of the current notebook. */
export const SHARE_DRAFT_COMMAND = 'jupyter-nj:share-draft-link';

/**
 * One draft link as the server lists it (never with its token).
 */
export interface IDraftLink {
  id: string;
  path: string;
  author: string;
  created: string;
  expires: string | null;
  state: 'active' | 'revoked' | 'expired';
  /** "draft": a read-only page for anyone; "edit": co-editing for other users. */
  kind?: 'draft' | 'edit';
  /** An edit link's guests may run code. */
  run?: boolean;
  /** A named share: the one hub user or group the link grants the notebook to. */
  shared_with?: Partial<Record<'user' | 'group', string>> | null;
  /** Only in the answer that created the link: the page's URL (path under the server). */
  url?: string;
}

/**
 * The `/nj/api/links` calls.
 */
export class DraftLinksClient {
  constructor(private readonly _settings: ServerConnection.ISettings) {}

  async list(path: string): Promise<IDraftLink[]> {
    const query = URLExt.objectToQueryString({ path });
    const reply = await requestAPI<{ links: IDraftLink[] }>(
      `links${query}`,
      {},
      this._settings
    );
    return reply.links;
  }

  create(
    path: string,
    expires: number | null,
    access: LinkAccess = 'read'
  ): Promise<IDraftLink> {
    const edit = access !== 'read';
    const run = access === 'run';
    return requestAPI<IDraftLink>(
      'links',
      {
        method: 'POST',
        body: JSON.stringify(
          edit ? { path, expires, edit, run } : { path, expires }
        )
      },
      this._settings
    );
  }

  /** Share the notebook with one hub user or group by name (co-edit, and run with `run`). */
  shareWith(
    path: string,
    target: ShareTarget,
    run: boolean
  ): Promise<IDraftLink> {
    return requestAPI<IDraftLink>(
      'links',
      {
        method: 'POST',
        body: JSON.stringify({ path, share_with: target, run })
      },
      this._settings
    );
  }

  /** The users and groups the current user can name. */
  principals(): Promise<IPrincipals> {
    return requestAPI<IPrincipals>('principals', {}, this._settings);
  }

  revoke(id: string): Promise<IDraftLink> {
    return requestAPI<IDraftLink>(
      `links/${encodeURIComponent(id)}`,
      { method: 'DELETE' },
      this._settings
    );
  }
}

/** What a link gives: a read-only page for anyone, or co-editing (and running) for users. */
export type LinkAccess = 'read' | 'edit' | 'run';

const ACCESS: [LinkAccess, string][] = [
  ['read', 'Read-only page, for anyone with the link (no login)'],
  ['edit', 'Co-edit this notebook, for other users (they log in)'],
  ['run', 'Co-edit and run code, for other users (they log in)']
];

/** Expiry choices, in seconds (null: never). */
const EXPIRIES: [string, number | null][] = [
  ['never', null],
  ['1 day', 86400],
  ['7 days', 7 * 86400],
  ['30 days', 30 * 86400]
];

/**
 * The dialog's body: create a link, see the new URL once, list and revoke the others.
 */
class ShareBody extends Widget {
  constructor(
    private readonly _client: DraftLinksClient,
    private readonly _path: string,
    private readonly _trans: ITrans
  ) {
    super();
    this.addClass('jp-nj-Share');
    const trans = _trans;
    this._expiry = h(
      'select',
      { className: 'jp-mod-styled jp-nj-Share-expiry' },
      ...EXPIRIES.map(([label], index) =>
        h('option', { value: String(index) }, trans.__(label))
      )
    );
    this._access = h(
      'select',
      { className: 'jp-mod-styled jp-nj-Share-access' },
      ...ACCESS.map(([value, label]) => h('option', { value }, trans.__(label)))
    );
    this._created = h('div', { className: 'jp-nj-Share-created' });
    this._named = h('div', { className: 'jp-nj-Share-named' });
    this._list = h('ul', { className: 'jp-nj-Share-links' });
    this.node.append(
      h(
        'p',
        {},
        trans.__(
          'Anyone with a draft link sees this notebook as last saved, read-only, without ' +
            'logging in (secret values are never shown). An edit link lets other users ' +
            'co-edit this notebook, and nothing else of this server. Revoke a link to end ' +
            'access.'
        )
      ),
      h(
        'div',
        { className: 'jp-nj-Share-new' },
        h('label', {}, h('span', {}, trans.__('Gives')), this._access),
        h('label', {}, h('span', {}, trans.__('Expires')), this._expiry),
        h(
          'button',
          {
            className: 'jp-mod-styled jp-mod-accept jp-nj-Share-create',
            on: { click: () => void this._create() }
          },
          trans.__('Create link')
        )
      ),
      this._created,
      h('h3', {}, trans.__('Share with a hub user or group')),
      this._named,
      h('h3', {}, trans.__('Active links')),
      this._list
    );
    void this.refresh();
    void this._offerNamedShares();
  }

  /**
   * Under a hub: a kind, a name (the hub's names offered, any typed) and a Share button.
   * Elsewhere: why there is no such choice.
   */
  private async _offerNamedShares(): Promise<void> {
    const trans = this._trans;
    let principals: IPrincipals | null = null;
    let problem = '';
    try {
      principals = await this._client.principals();
    } catch (error) {
      problem = (error as Error).message;
    }
    if (!principals?.hub) {
      this._named.dataset.state = 'unavailable';
      this._named.replaceChildren(
        h(
          'p',
          { className: 'jp-nj-Share-namedUnavailable' },
          problem
            ? trans.__(
                'The hub did not list its users and groups (%1). Create an edit link and send its URL instead.',
                problem
              )
            : trans.__(
                'Sharing with a user or group by name needs JupyterHub, and this server runs without one: create an edit link and send its URL instead.'
              )
        )
      );
      return;
    }
    const kind = h(
      'select',
      { className: 'jp-mod-styled jp-nj-Share-kind' },
      h('option', { value: 'user' }, trans.__('User')),
      h('option', { value: 'group' }, trans.__('Group'))
    );
    const names = h('datalist', { id: Private.nextId() });
    const name = h('input', {
      className: 'jp-mod-styled jp-nj-Share-name',
      type: 'text',
      placeholder: trans.__('a hub name'),
      spellcheck: false,
      attrs: { list: names.id, autocomplete: 'off' }
    });
    const run = h(
      'select',
      { className: 'jp-mod-styled jp-nj-Share-runs' },
      h('option', { value: 'edit' }, trans.__('Co-edit')),
      h('option', { value: 'run' }, trans.__('Co-edit and run code'))
    );
    const note = h(
      'p',
      { className: 'jp-nj-Share-groupNote', hidden: true },
      trans.__(
        'JupyterHub 6.1 does not yet let the members of a group in through a share with the group (a known JupyterHub bug): until it does, share with each user.'
      )
    );
    const offer = (): void => {
      const which = kind.value as 'user' | 'group';
      names.replaceChildren(
        ...shareChoices(principals, which).map(value => h('option', { value }))
      );
      note.hidden = which !== 'group';
    };
    kind.addEventListener('change', offer);
    offer();
    const share = async (): Promise<void> => {
      const target = shareTargetOf(kind.value as 'user' | 'group', name.value);
      if (!target) {
        name.focus();
        return;
      }
      try {
        await this._client.shareWith(this._path, target, run.value === 'run');
      } catch (error) {
        await showErrorMessage(
          trans.__('Cannot share the notebook'),
          error as Error
        );
        return;
      }
      name.value = '';
      await this.refresh();
    };
    this._named.dataset.state = 'ready';
    this._named.replaceChildren(
      h(
        'div',
        { className: 'jp-nj-Share-new' },
        h('label', {}, h('span', {}, trans.__('With')), kind),
        h('label', {}, h('span', {}, trans.__('Name')), name, names),
        h('label', {}, h('span', {}, trans.__('Gives')), run),
        h(
          'button',
          {
            className: 'jp-mod-styled jp-mod-accept jp-nj-Share-shareWith',
            on: { click: () => void share() }
          },
          trans.__('Share')
        )
      ),
      note
    );
  }

  async refresh(): Promise<void> {
    const trans = this._trans;
    let links: IDraftLink[];
    try {
      links = await this._client.list(this._path);
    } catch (error) {
      this._list.replaceChildren(h('li', {}, String(error)));
      return;
    }
    this._list.replaceChildren(
      ...(links.length
        ? links.map(link =>
            h(
              'li',
              {
                className: 'jp-nj-Share-link',
                dataset: {
                  id: link.id,
                  sharedWith: describeShareTarget(link.shared_with)
                }
              },
              h(
                'span',
                {},
                trans.__(
                  '%1%2 · created %3 by %4 · %5',
                  link.id,
                  Private.access(link, trans),
                  link.created.replace('T', ' ').slice(0, 16),
                  link.author,
                  link.expires
                    ? trans.__('expires %1', link.expires.slice(0, 10))
                    : trans.__('no expiry')
                )
              ),
              h(
                'button',
                {
                  className: 'jp-mod-styled jp-mod-warn jp-nj-Share-revoke',
                  on: { click: () => void this._revoke(link.id) }
                },
                trans.__('Revoke')
              )
            )
          )
        : [h('li', { className: 'jp-nj-Share-none' }, trans.__('None.'))])
    );
  }

  private async _create(): Promise<void> {
    const trans = this._trans;
    const [, expires] = EXPIRIES[Number(this._expiry.value)] ?? EXPIRIES[0];
    let link: IDraftLink;
    try {
      link = await this._client.create(
        this._path,
        expires,
        this._access.value as LinkAccess
      );
    } catch (error) {
      await showErrorMessage(trans.__('Cannot create a link'), error as Error);
      return;
    }
    const url = new URL(link.url ?? '', window.location.origin).href;
    this._created.replaceChildren(
      h(
        'p',
        {},
        link.kind === 'edit'
          ? trans.__('The edit link (send it to who may co-edit):')
          : trans.__('The new link (shown only now: copy it before closing):')
      ),
      copyableUrl(url, trans)
    );
    await this.refresh();
  }

  private async _revoke(id: string): Promise<void> {
    try {
      await this._client.revoke(id);
    } catch (error) {
      await showErrorMessage(
        this._trans.__('Cannot revoke the link'),
        error as Error
      );
    }
    await this.refresh();
  }

  private _expiry: HTMLSelectElement;
  private _access: HTMLSelectElement;
  private _created: HTMLDivElement;
  private _named: HTMLDivElement;
  private _list: HTMLUListElement;
}

namespace Private {
  let ids = 0;

  /** What a listed link gives, in words: '', ' (co-edit)', ' (co-edit and run with user bob)'. */
  export function access(link: IDraftLink, trans: ITrans): string {
    if (link.kind !== 'edit') {
      return '';
    }
    const target = describeShareTarget(link.shared_with, trans);
    if (link.run) {
      return target
        ? trans.__(' (co-edit and run %1)', target)
        : trans.__(' (co-edit and run)');
    }
    return target ? trans.__(' (co-edit %1)', target) : trans.__(' (co-edit)');
  }

  /** A new id for a dialog's name list, unique in the page. */
  export function nextId(): string {
    ids += 1;
    return `jp-nj-Share-names-${ids}`;
  }
}

/**
 * A read-only field with a URL and a Copy button beside it (the new link, a new edition), and
 * any further controls after them.
 */
export function copyableUrl(
  url: string,
  trans: ITrans,
  className = '',
  ...after: HTMLElement[]
): HTMLDivElement {
  const field = h('input', {
    className: `jp-mod-styled jp-nj-Share-url ${className}`.trim(),
    type: 'text',
    readOnly: true,
    value: url
  });
  return h(
    'div',
    { className: 'jp-nj-Share-new' },
    field,
    h(
      'button',
      {
        className: 'jp-mod-styled jp-nj-Share-copy',
        on: {
          click: () => {
            field.select();
            void navigator.clipboard?.writeText(url);
          }
        }
      },
      trans.__('Copy')
    ),
    ...after
  );
}

/**
 * Add the Share Draft Link command for the notebook `currentNotebook()` names.
 */
export function addDraftLinkCommand(
  app: JupyterFrontEnd,
  client: DraftLinksClient,
  currentNotebook: () => string | null,
  trans: ITrans
): void {
  app.commands.addCommand(SHARE_DRAFT_COMMAND, {
    label: trans.__('Share Draft Link…'),
    caption: trans.__(
      'A secret, read-only link to this notebook as last saved, for anyone (no login)'
    ),
    isEnabled: () => currentNotebook() !== null,
    execute: async () => {
      const path = currentNotebook();
      if (!path) {
        return;
      }
      await showDialog({
        title: trans.__('Share %1', path.split('/').pop() ?? path),
        body: new ShareBody(client, path, trans),
        buttons: [Dialog.okButton({ label: trans.__('Done') })]
      });
    }
  });
}
