/**
 * Publishing: File > Publish… opens a dialog that publishes a version of the current notebook at a
 * permanent URL (`POST /nj/api/publish/{path}`): the slug (made from the title, editable), which
 * version, whether its results folder comes along and whether it is re-run on its pinned
 * runtimes first. The dialog lists the notebook's editions and unpublishes them
 * (`/nj/api/publications`).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { h } from '../dom';
import { historyEndpoint } from '../history/format';
import { requestAPI } from '../request';
import type { ITrans } from '../translation';
import { isSlug, notebookTitle, sharingEndpoint, slugify } from './format';
import { copyableUrl } from './links';

/** The command that opens the Publish dialog of the current notebook. */
export const PUBLISH_COMMAND = 'jupyter-nj:publish';

/**
 * One published edition as the server lists it.
 */
export interface IEdition {
  owner: string;
  slug: string;
  number: number;
  title: string;
  url: string;
  latest: string;
  path: string;
  version: string;
  published: string;
  author: string;
  state: 'published' | 'unpublished';
  results: number;
  rerun: {
    cells: number;
    reproduced: number;
    differed: number;
    error: string | null;
  } | null;
}

/** What the dialog asks the server to publish. */
export interface IPublishRequest {
  version: string;
  slug?: string;
  rerun: boolean;
  results: boolean;
}

/**
 * The `/nj/api/publish` and `/nj/api/publications` calls.
 */
export class PublishingClient {
  constructor(private readonly _settings: ServerConnection.ISettings) {}

  publish(path: string, request: IPublishRequest): Promise<IEdition> {
    return requestAPI<IEdition>(
      sharingEndpoint('publish', path),
      { method: 'POST', body: JSON.stringify(request) },
      this._settings
    );
  }

  async editions(path: string): Promise<IEdition[]> {
    const query = URLExt.objectToQueryString({ path });
    const reply = await requestAPI<{ publications: IEdition[] }>(
      `publications${query}`,
      {},
      this._settings
    );
    return reply.publications;
  }

  async unpublish(edition: IEdition): Promise<void> {
    await requestAPI(
      `publications/${encodeURIComponent(edition.owner)}/${edition.slug}/${edition.number}`,
      { method: 'DELETE' },
      this._settings
    );
  }

  async versions(
    path: string
  ): Promise<{ id: string; created: string; label: string | null }[]> {
    const page = await requestAPI<{
      versions: { id: string; created: string; label: string | null }[];
    }>(historyEndpoint(path, { limit: 20 }), {}, this._settings);
    return page.versions;
  }
}

/**
 * The dialog's body: what to publish, the new edition's URL, and the notebook's editions.
 */
class PublishBody extends Widget {
  constructor(
    private readonly _client: PublishingClient,
    private readonly _path: string,
    private readonly _title: string,
    private readonly _trans: ITrans
  ) {
    super();
    this.addClass('jp-nj-Share');
    this.addClass('jp-nj-Publish');
    const trans = _trans;
    this._slug = h('input', {
      className: 'jp-mod-styled jp-nj-Publish-slug',
      type: 'text',
      value: slugify(_title),
      title: trans.__('Lower-case letters, digits and hyphens')
    });
    this._version = h(
      'select',
      { className: 'jp-mod-styled jp-nj-Publish-version' },
      h('option', { value: 'current' }, trans.__('As it is now'))
    );
    this._results = h('input', {
      type: 'checkbox',
      className: 'jp-nj-Publish-results',
      checked: true
    });
    this._rerun = h('input', {
      type: 'checkbox',
      className: 'jp-nj-Publish-rerun'
    });
    this._created = h('div', { className: 'jp-nj-Share-created' });
    this._list = h('ul', { className: 'jp-nj-Share-links' });
    this._button = h(
      'button',
      {
        className: 'jp-mod-styled jp-mod-accept jp-nj-Publish-submit',
        on: { click: () => void this._publish() }
      },
      trans.__('Publish')
    );
    this.node.append(
      h(
        'p',
        {},
        trans.__(
          'A publication is a version at a permanent URL that anyone with it can read ' +
            '(secret values are never shown). Publishing again makes a new edition; earlier ' +
            'editions stay as they were.'
        )
      ),
      h(
        'div',
        { className: 'jp-nj-Share-new' },
        h('label', {}, h('span', {}, trans.__('Slug')), this._slug),
        h('label', {}, h('span', {}, trans.__('Version')), this._version)
      ),
      h(
        'label',
        { className: 'jp-nj-Publish-option' },
        this._results,
        h('span', {}, trans.__('Include the results folder'))
      ),
      h(
        'label',
        { className: 'jp-nj-Publish-option' },
        this._rerun,
        h(
          'span',
          {},
          trans.__(
            'Re-run it on its pinned runtimes first, and mark which outputs reproduced'
          )
        )
      ),
      h('div', { className: 'jp-nj-Share-new' }, this._button),
      this._created,
      h('h3', {}, trans.__('Editions of this notebook')),
      this._list
    );
    void this._loadVersions();
    void this.refresh();
  }

  async refresh(): Promise<void> {
    const trans = this._trans;
    let editions: IEdition[];
    try {
      editions = await this._client.editions(this._path);
    } catch (error) {
      this._list.replaceChildren(h('li', {}, String(error)));
      return;
    }
    if (editions.length && this._slug.value === slugify(this._title)) {
      // Publishing again goes on the same publication by default.
      this._slug.value = editions[0].slug;
    }
    this._list.replaceChildren(
      ...(editions.length
        ? editions.map(edition =>
            h(
              'li',
              {
                className: 'jp-nj-Share-link jp-nj-Publish-edition',
                dataset: {
                  number: String(edition.number),
                  state: edition.state
                }
              },
              edition.state === 'published'
                ? h(
                    'a',
                    {
                      href: new URL(edition.url, window.location.origin).href,
                      target: '_blank',
                      rel: 'noopener'
                    },
                    `${edition.slug}/${edition.number}`
                  )
                : h('s', {}, `${edition.slug}/${edition.number}`),
              h(
                'span',
                {},
                trans.__(
                  '%1 · version %2%3',
                  edition.published.replace('T', ' ').slice(0, 16),
                  edition.version.slice(0, 8),
                  edition.state === 'published'
                    ? ''
                    : trans.__(' · unpublished')
                )
              ),
              edition.state === 'published'
                ? h(
                    'button',
                    {
                      className:
                        'jp-mod-styled jp-mod-warn jp-nj-Publish-unpublish',
                      on: { click: () => void this._unpublish(edition) }
                    },
                    trans.__('Unpublish')
                  )
                : h('span', {})
            )
          )
        : [h('li', { className: 'jp-nj-Share-none' }, trans.__('None yet.'))])
    );
  }

  private async _loadVersions(): Promise<void> {
    let versions: { id: string; created: string; label: string | null }[];
    try {
      versions = await this._client.versions(this._path);
    } catch {
      return; // no history yet: "as it is now" is the only choice
    }
    this._version.append(
      ...versions.map(version =>
        h(
          'option',
          { value: version.id },
          `${version.created.replace('T', ' ').slice(0, 16)} · ${version.id.slice(0, 8)}` +
            (version.label ? ` · ${version.label}` : '')
        )
      )
    );
  }

  private async _publish(): Promise<void> {
    const trans = this._trans;
    const slug = this._slug.value.trim();
    if (!isSlug(slug)) {
      await showErrorMessage(
        trans.__('Choose another slug'),
        trans.__(
          '"%1" cannot be used in a URL: use lower-case letters, digits and hyphens.',
          slug
        )
      );
      return;
    }
    this._button.disabled = true;
    this._button.textContent = this._rerun.checked
      ? trans.__('Re-running…')
      : trans.__('Publishing…');
    let edition: IEdition;
    try {
      edition = await this._client.publish(this._path, {
        version: this._version.value,
        slug,
        rerun: this._rerun.checked,
        results: this._results.checked
      });
    } catch (error) {
      await showErrorMessage(trans.__('Cannot publish'), error as Error);
      return;
    } finally {
      this._button.disabled = false;
      this._button.textContent = trans.__('Publish');
    }
    const url = new URL(edition.url, window.location.origin).href;
    const rerun = edition.rerun
      ? h(
          'p',
          { className: 'jp-nj-Publish-rerunReport' },
          trans.__(
            'Re-run: %1 of %2 code cells reproduced their outputs exactly.',
            String(edition.rerun.reproduced),
            String(edition.rerun.cells)
          )
        )
      : h('span', {});
    this._created.replaceChildren(
      h('p', {}, trans.__('Published as edition %1:', String(edition.number))),
      copyableUrl(
        url,
        trans,
        'jp-nj-Publish-url',
        h(
          'a',
          {
            className: 'jp-mod-styled jp-nj-Publish-open',
            href: url,
            target: '_blank',
            rel: 'noopener'
          },
          trans.__('Open')
        )
      ),
      rerun
    );
    await this.refresh();
  }

  private async _unpublish(edition: IEdition): Promise<void> {
    try {
      await this._client.unpublish(edition);
    } catch (error) {
      await showErrorMessage(
        this._trans.__('Cannot unpublish'),
        error as Error
      );
    }
    await this.refresh();
  }

  private _slug: HTMLInputElement;
  private _version: HTMLSelectElement;
  private _results: HTMLInputElement;
  private _rerun: HTMLInputElement;
  private _button: HTMLButtonElement;
  private _created: HTMLDivElement;
  private _list: HTMLUListElement;
}

/**
 * Add the Publish command for the notebook `currentNotebook()` names, with its content as the lab
 * holds it (the slug is made from its title).
 */
export function addPublishCommand(
  app: JupyterFrontEnd,
  client: PublishingClient,
  currentNotebook: () => { path: string; content: any } | null,
  trans: ITrans
): void {
  app.commands.addCommand(PUBLISH_COMMAND, {
    label: trans.__('Publish…'),
    caption: trans.__(
      'Publish a version of this notebook at a permanent URL, readable by anyone with it'
    ),
    isEnabled: () => currentNotebook() !== null,
    execute: async () => {
      const current = currentNotebook();
      if (!current) {
        return;
      }
      const title = notebookTitle(current.content, current.path);
      const body = new PublishBody(client, current.path, title, trans);
      await showDialog({
        title: trans.__(
          'Publish %1',
          current.path.split('/').pop() ?? current.path
        ),
        body,
        buttons: [Dialog.okButton({ label: trans.__('Done') })]
      });
    }
  });
}
