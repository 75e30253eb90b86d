import { Dialog, showDialog } from '@jupyterlab/apputils';
import { addIcon, lockIcon, refreshIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { h, iconButton, type Props } from '../dom';
import { type ITrans, untranslated } from '../translation';
import type { IPrincipals } from '../sharing/tokens';
import {
  describeSharing,
  isListed,
  SECRET_NAME,
  secretChange,
  toggleListed
} from './format';
import type { ISecret, ISecretChange, ISecretsModel } from './tokens';

/**
 * The Secrets side panel (the Colab pattern): the secrets the user can see, with add, edit and
 * delete; the value is write-only (a password field that is never filled from the server); a
 * description and sharing with users and groups; and a per-secret switch that attaches the
 * secret to the current notebook by name (`metadata.nj.secrets`). The sharing fields offer the
 * users and groups the server knows (the hub's, or its configured groups) as buttons beside
 * free typing.
 */
export class SecretsPanel extends Widget {
  /**
   * @param model - the secrets and the current notebook's attachments.
   * @param trans - the jupyter-nj translation bundle.
   * @param choices - asks the server for the names to offer (`GET /nj/api/principals`);
   *   without it, or when it fails, names are typed.
   */
  constructor(
    private readonly _model: ISecretsModel,
    private readonly _trans: ITrans = untranslated,
    choices: (() => Promise<IPrincipals>) | null = null
  ) {
    super();
    const trans = _trans;
    this.id = 'jp-nj-secrets';
    this.addClass('jp-nj-SecretsPanel');
    this.title.icon = lockIcon;
    this.title.caption = trans.__('Secrets');

    this._info = h('div', { className: 'jp-nj-SecretsPanel-info' });
    this._error = h('div', {
      className: 'jp-nj-SecretsPanel-error',
      hidden: true
    });
    this._form = new Private.SecretForm(
      trans,
      (name, change, creating) => this._save(name, change, creating),
      () => this._form.close(),
      choices
    );
    this._notebook = h('div', { className: 'jp-nj-SecretsPanel-notebook' });
    this._list = h('div', { className: 'jp-nj-SecretsPanel-list' });
    this.node.append(
      h(
        'div',
        { className: 'jp-nj-SecretsPanel-header' },
        h('h2', {}, trans.__('Secrets')),
        h(
          'div',
          {},
          iconButton(
            'jp-nj-SecretsPanel-add',
            trans.__('Add a secret'),
            addIcon,
            {
              on: { click: () => this._form.open(null) }
            }
          ),
          iconButton(
            'jp-nj-SecretsPanel-refresh',
            trans.__('Refresh the list'),
            refreshIcon,
            { on: { click: () => void this.refresh() } }
          )
        )
      ),
      this._info,
      this._error,
      this._form.node,
      this._notebook,
      this._list,
      h(
        'div',
        { className: 'jp-nj-SecretsPanel-hint' },
        trans.__(
          "Attached secrets reach the notebook's runtime as environment variables and through " +
            '`from jupyter_nj import secrets; secrets.get("NAME")`. Values are never shown ' +
            'again once saved.'
        )
      )
    );
    _model.changed.connect(this._render, this);
  }

  /** The panel's model. */
  get model(): ISecretsModel {
    return this._model;
  }

  /** Ask the server for the secrets and the current notebook's attachments, and redraw. */
  refresh(): Promise<void> {
    return this._model.refresh();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this._render, this);
    super.dispose();
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  private _render(): void {
    const trans = this._trans;
    const { listing, error } = this._model;
    this._error.textContent = error;
    this._error.hidden = !error;
    if (listing) {
      const store =
        listing.backend === 'vault'
          ? trans.__('Vault/OpenBao')
          : listing.backend === 'hub'
            ? trans.__("Vault/OpenBao, through the hub's jupyter-nj service")
            : listing.backend === 'local'
              ? trans.__('the encrypted local store')
              : listing.backend;
      this._info.textContent = listing.groups.length
        ? trans.__(
            'Stored in %1. You are %2 (groups: %3).',
            store,
            listing.user,
            listing.groups.join(', ')
          )
        : trans.__('Stored in %1. You are %2.', store, listing.user);
      this._info.dataset.backend = listing.backend;
    } else {
      this._info.textContent = '';
    }
    this._renderNotebook();
    const secrets = listing?.secrets ?? [];
    const attached = new Set(
      (this._model.attachments?.secrets ?? []).map(s => s.name)
    );
    this._list.replaceChildren(
      ...secrets.map(secret =>
        this._renderSecret(secret, attached.has(secret.name))
      )
    );
    if (listing && secrets.length === 0) {
      this._list.append(
        h(
          'div',
          { className: 'jp-nj-SecretsPanel-empty' },
          trans.__('No secrets yet. Add one with +.')
        )
      );
    }
    this.node.dataset.njState = listing ? 'ready' : 'error';
  }

  private _renderNotebook(): void {
    const trans = this._trans;
    const node = this._notebook;
    const path = this._model.path;
    if (!path) {
      node.replaceChildren(
        trans.__('Open a notebook to attach secrets to it.')
      );
      delete node.dataset.path;
      return;
    }
    node.dataset.path = path;
    const attached = this._model.attachments?.secrets ?? [];
    const remixedFrom = this._model.remixedFrom;
    node.replaceChildren(
      h(
        'div',
        { className: 'jp-nj-SecretsPanel-notebookTitle' },
        trans.__('Notebook: %1', path)
      ),
      ...(remixedFrom === null || attached.length === 0
        ? []
        : [
            h(
              'div',
              { className: 'jp-nj-SecretsPanel-remixNote' },
              trans.__(
                'Remixed from %1: this notebook came with the names of its secrets, not their values. Each needs access of your own: ask its owner to share it with you, or attach a secret of yours.',
                remixedFrom
              )
            )
          ]),
      h(
        'div',
        { className: 'jp-nj-SecretsPanel-attached' },
        attached.length === 0 && trans.__('No secrets attached.'),
        ...attached.map(item =>
          h(
            'span',
            {
              className:
                item.status === 'ok'
                  ? 'jp-nj-SecretChip'
                  : 'jp-nj-SecretChip jp-nj-mod-unavailable',
              dataset: { name: item.name, status: item.status },
              title:
                item.status === 'ok'
                  ? ''
                  : trans.__(
                      '%1 is attached but you cannot read it (deleted, or not shared with you). ' +
                        'Runtimes start without it.',
                      item.name
                    )
            },
            item.name,
            h(
              'button',
              {
                className: 'jp-nj-SecretChip-detach',
                title: trans.__('Detach %1 from this notebook', item.name),
                on: { click: () => void this._model.attach(item.name, false) }
              },
              '×'
            )
          )
        )
      )
    );
  }

  private _renderSecret(secret: ISecret, attached: boolean): HTMLElement {
    const trans = this._trans;
    const path = this._model.path;
    const box = h('input', { type: 'checkbox', checked: attached });
    box.addEventListener(
      'change',
      () => void this._model.attach(secret.name, box.checked)
    );
    return h(
      'div',
      { className: 'jp-nj-Secret', dataset: { name: secret.name } },
      h(
        'div',
        { className: 'jp-nj-Secret-head' },
        h('code', { className: 'jp-nj-Secret-name' }, secret.name)
      ),
      secret.description &&
        h('div', { className: 'jp-nj-Secret-description' }, secret.description),
      h(
        'div',
        { className: 'jp-nj-Secret-meta' },
        trans.__(
          '%1 · %2',
          secret.can_manage === false
            ? trans.__('owned by %1', secret.owner)
            : trans.__('yours'),
          describeSharing(secret, trans)
        )
      ),
      h(
        'div',
        { className: 'jp-nj-Secret-actions' },
        path &&
          h(
            'label',
            {
              className: 'jp-nj-Secret-attach',
              title: trans.__('Give %1 access to %2', path, secret.name)
            },
            box,
            trans.__('Notebook access')
          ),
        secret.can_manage !== false &&
          h(
            'button',
            {
              className: 'jp-nj-Secret-edit',
              on: { click: () => this._form.open(secret) }
            },
            trans.__('Edit')
          ),
        secret.can_manage !== false &&
          h(
            'button',
            {
              className: 'jp-nj-Secret-delete',
              on: { click: () => void this._delete(secret.name) }
            },
            trans.__('Delete')
          )
      )
    );
  }

  private async _save(
    name: string,
    change: ISecretChange,
    creating: boolean
  ): Promise<string | null> {
    const problem = await this._model.save(name, change, creating);
    if (problem === null) {
      this._form.close();
    }
    return problem;
  }

  private async _delete(name: string): Promise<void> {
    const trans = this._trans;
    const result = await showDialog({
      title: trans.__('Delete secret %1?', name),
      body: trans.__(
        'Runtimes of notebooks that attach it start without it. This cannot be undone.'
      ),
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: trans.__('Delete') })
      ]
    });
    if (result.button.accept) {
      await this._model.remove(name);
    }
  }

  private _info: HTMLElement;
  private _error: HTMLElement;
  private _form: Private.SecretForm;
  private _notebook: HTMLElement;
  private _list: HTMLElement;
}

namespace Private {
  /**
   * The add/edit form. The value field is a password field that starts empty on every open and
   * is cleared on close: the panel never has the stored value to show.
   */
  export class SecretForm {
    /**
     * @param _trans - the jupyter-nj translation bundle.
     * @param _submit - saves the form's secret; resolves with what went wrong, or null.
     * @param _cancel - closes the form without saving.
     * @param _choices - the names to offer, or null.
     */
    constructor(
      private readonly _trans: ITrans,
      private readonly _submit: (
        name: string,
        change: ISecretChange,
        creating: boolean
      ) => Promise<string | null>,
      private readonly _cancel: () => void,
      private readonly _choices: (() => Promise<IPrincipals>) | null = null
    ) {
      const trans = _trans;
      this._title = h('div', { className: 'jp-nj-SecretForm-title' });
      this._name = field('name', 'text', 'API_TOKEN');
      this._value = field('value', 'password', '', {
        autocomplete: 'new-password'
      });
      this._description = field(
        'description',
        'text',
        trans.__('What it is for')
      );
      this._users = field('users', 'text', trans.__('alice, bob'));
      this._groups = field('groups', 'text', trans.__('analysts'));
      this._userChoices = h('div', {
        className: 'jp-nj-SecretForm-choices',
        dataset: { for: 'users' }
      });
      this._groupChoices = h('div', {
        className: 'jp-nj-SecretForm-choices',
        dataset: { for: 'groups' }
      });
      for (const input of [this._users, this._groups]) {
        input.addEventListener('input', () => this._markChoices());
      }
      this._error = h('div', { className: 'jp-nj-SecretForm-error' });
      this.node = h(
        'form',
        {
          className: 'jp-nj-SecretForm',
          hidden: true,
          autocomplete: 'off',
          on: {
            submit: event => {
              event.preventDefault();
              void this._onSubmit();
            }
          }
        },
        this._title,
        labelled(trans.__('Name'), this._name),
        labelled(trans.__('Value'), this._value),
        labelled(trans.__('Description'), this._description),
        labelled(trans.__('Share with users'), this._users),
        this._userChoices,
        labelled(trans.__('Share with groups'), this._groups),
        this._groupChoices,
        this._error,
        h(
          'div',
          { className: 'jp-nj-SecretForm-buttons' },
          h(
            'button',
            { type: 'submit', className: 'jp-nj-SecretForm-save' },
            trans.__('Save')
          ),
          h(
            'button',
            {
              type: 'button',
              className: 'jp-nj-SecretForm-cancel',
              on: { click: () => this._cancel() }
            },
            trans.__('Cancel')
          )
        )
      );
    }

    readonly node: HTMLFormElement;

    open(secret: ISecret | null): void {
      this._creating = secret === null;
      this.node.dataset.mode = this._creating ? 'add' : 'edit';
      this._title.textContent = this._creating
        ? this._trans.__('New secret')
        : this._trans.__('Edit %1', secret!.name);
      this._name.value = secret?.name ?? '';
      this._name.readOnly = !this._creating;
      this._value.value = '';
      this._value.placeholder = this._creating
        ? this._trans.__('The value (write-only)')
        : this._trans.__('Leave empty to keep the current value');
      this._description.value = secret?.description ?? '';
      this._users.value = (secret?.shared_with.users ?? []).join(', ');
      this._groups.value = (secret?.shared_with.groups ?? []).join(', ');
      this._error.textContent = '';
      this.node.hidden = false;
      (this._creating ? this._name : this._value).focus();
      this._markChoices();
      void this._loadChoices();
    }

    /** Ask for the names to offer and show them as buttons under their fields. */
    private async _loadChoices(): Promise<void> {
      if (!this._choices) {
        return;
      }
      let principals: IPrincipals;
      try {
        principals = await this._choices();
      } catch {
        // No list (a hub that does not answer, sharing off): the names are typed.
        return;
      }
      const trans = this._trans;
      this._userChoices.replaceChildren(
        ...principals.users.map(name =>
          this._choice(this._users, name, trans.__('Share with user %1', name))
        )
      );
      this._groupChoices.replaceChildren(
        ...principals.groups.map(group =>
          this._choice(
            this._groups,
            group.name,
            group.members
              ? trans.__(
                  'Share with group %1 (%2)',
                  group.name,
                  group.members.join(', ')
                )
              : trans.__('Share with group %1', group.name)
          )
        )
      );
      this.node.dataset.choices = principals.source;
      this._markChoices();
    }

    /** One offered name: a click adds it to the field, or takes it out. */
    private _choice(
      input: HTMLInputElement,
      name: string,
      title: string
    ): HTMLButtonElement {
      return h(
        'button',
        {
          type: 'button',
          className: 'jp-nj-SecretForm-choice',
          title,
          dataset: { name },
          on: {
            click: () => {
              input.value = toggleListed(input.value, name);
              this._markChoices();
            }
          }
        },
        name
      );
    }

    /** Show which offered names the fields list now. */
    private _markChoices(): void {
      for (const [input, box] of [
        [this._users, this._userChoices],
        [this._groups, this._groupChoices]
      ] as const) {
        for (const button of Array.from(
          box.querySelectorAll<HTMLButtonElement>('.jp-nj-SecretForm-choice')
        )) {
          const listed = isListed(input.value, button.dataset.name ?? '');
          button.setAttribute('aria-pressed', String(listed));
          button.classList.toggle('jp-mod-active', listed);
        }
      }
    }

    close(): void {
      this._value.value = '';
      this._error.textContent = '';
      this.node.hidden = true;
    }

    private async _onSubmit(): Promise<void> {
      const name = this._name.value.trim();
      if (!SECRET_NAME.test(name)) {
        this._error.textContent = this._trans.__(
          'Use letters, digits and underscores, not starting with a digit (the name becomes an ' +
            'environment variable).'
        );
        return;
      }
      if (this._creating && !this._value.value) {
        this._error.textContent = this._trans.__('A new secret needs a value.');
        return;
      }
      const change = secretChange({
        value: this._value.value,
        description: this._description.value,
        users: this._users.value,
        groups: this._groups.value
      });
      this._error.textContent = '';
      const problem = await this._submit(name, change, this._creating);
      if (problem) {
        this._error.textContent = problem;
      }
    }

    private _creating = true;
    private _title: HTMLElement;
    private _name: HTMLInputElement;
    private _value: HTMLInputElement;
    private _description: HTMLInputElement;
    private _users: HTMLInputElement;
    private _groups: HTMLInputElement;
    private _userChoices: HTMLElement;
    private _groupChoices: HTMLElement;
    private _error: HTMLElement;
  }

  /** A text input of the form. */
  function field(
    name: string,
    type: string,
    placeholder: string,
    props: Props<HTMLInputElement> = {}
  ): HTMLInputElement {
    return h('input', {
      className: 'jp-mod-styled',
      name,
      type,
      placeholder,
      spellcheck: false,
      ...props
    });
  }

  /** A form field with its label. */
  function labelled(label: string, input: HTMLInputElement): HTMLElement {
    return h(
      'label',
      { className: 'jp-nj-SecretForm-field' },
      h('span', {}, label),
      input
    );
  }
}
