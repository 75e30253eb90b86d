import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { addIcon, lockIcon, refreshIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { iconButton } from '../dom';
import { apiPath } from '../paths';
import type { SecretsClient } from './client';
import {
  describeSharing,
  SECRET_NAME,
  secretChange,
  toggleName
} from './format';
import type { IAttachments, ISecret, ISecretList } from './tokens';

/**
 * The Secrets side panel (the Colab pattern): the secrets the user can see, with add, edit and
 * delete; the value is write-only (a password field that is never filled from the server); a
 * description and sharing with users and groups; and a per-secret switch that attaches the
 * secret to the current notebook by name (`metadata.nj.secrets`).
 */
export class SecretsPanel extends Widget {
  /**
   * @param client - the Secrets REST client.
   * @param currentNotebook - the notebook attachments act on, if any.
   */
  constructor(
    private readonly _client: SecretsClient,
    private readonly _currentNotebook: () => NotebookPanel | null
  ) {
    super();
    this.id = 'jp-nj-secrets';
    this.addClass('jp-nj-SecretsPanel');
    this.title.icon = lockIcon;
    this.title.caption = 'Secrets';

    const header = document.createElement('div');
    header.className = 'jp-nj-SecretsPanel-header';
    const title = document.createElement('h2');
    title.textContent = 'Secrets';
    const add = iconButton('jp-nj-SecretsPanel-add', 'Add a secret', addIcon);
    add.addEventListener('click', () => this._openForm(null));
    const refresh = iconButton(
      'jp-nj-SecretsPanel-refresh',
      'Refresh the list',
      refreshIcon
    );
    refresh.addEventListener('click', () => void this.refresh());
    const tools = document.createElement('div');
    tools.append(add, refresh);
    header.append(title, tools);

    this._info = Private.div('jp-nj-SecretsPanel-info');
    this._error = Private.div('jp-nj-SecretsPanel-error');
    this._error.hidden = true;
    this._form = new Private.SecretForm(
      (name, change, creating) => this._save(name, change, creating),
      () => this._closeForm()
    );
    this._notebook = Private.div('jp-nj-SecretsPanel-notebook');
    this._list = Private.div('jp-nj-SecretsPanel-list');
    const hint = Private.div('jp-nj-SecretsPanel-hint');
    hint.textContent =
      "Attached secrets reach the notebook's runtime as environment variables and through " +
      '`from jupyter_nj import secrets; secrets.get("NAME")`. Values are never shown again ' +
      'once saved.';
    this.node.append(
      header,
      this._info,
      this._error,
      this._form.node,
      this._notebook,
      this._list,
      hint
    );
  }

  /** Ask the server for the secrets and the current notebook's attachments, and redraw. */
  async refresh(): Promise<void> {
    const generation = ++this._generation;
    const notebook = this._currentNotebook();
    const path = notebook ? apiPath(notebook.context.path) : null;
    let listing: ISecretList | null = null;
    let attachments: IAttachments | null = null;
    const problems: string[] = [];
    try {
      listing = await this._client.list();
    } catch (error) {
      problems.push(`Cannot list secrets: ${(error as Error).message}`);
    }
    if (path) {
      try {
        attachments = await this._client.attachments(path);
      } catch (error) {
        // A notebook never saved yet has no attachments to show.
        if ((error as any)?.response?.status !== 404) {
          problems.push(
            `Cannot read the notebook's secrets: ${(error as Error).message}`
          );
        }
      }
    }
    if (generation !== this._generation || this.isDisposed) {
      return;
    }
    this._listing = listing;
    this._attachments = attachments;
    this._path = path;
    this._showError(problems.join('\n'));
    this._render();
    this.node.dataset.njState = listing ? 'ready' : 'error';
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  private _showError(message: string): void {
    this._error.textContent = message;
    this._error.hidden = !message;
  }

  private _render(): void {
    const listing = this._listing;
    if (listing) {
      const store =
        listing.backend === 'vault'
          ? 'Vault/OpenBao'
          : listing.backend === 'local'
            ? 'the encrypted local store'
            : listing.backend;
      this._info.textContent =
        `Stored in ${store}. You are ${listing.user}` +
        (listing.groups.length
          ? ` (groups: ${listing.groups.join(', ')}).`
          : '.');
      this._info.dataset.backend = listing.backend;
    } else {
      this._info.textContent = '';
    }
    this._renderNotebook();
    const secrets = listing?.secrets ?? [];
    const attached = new Set(
      (this._attachments?.secrets ?? []).map(s => s.name)
    );
    this._list.replaceChildren(
      ...secrets.map(secret =>
        this._renderSecret(secret, attached.has(secret.name))
      )
    );
    if (listing && secrets.length === 0) {
      const empty = Private.div('jp-nj-SecretsPanel-empty');
      empty.textContent = 'No secrets yet. Add one with +.';
      this._list.append(empty);
    }
  }

  private _renderNotebook(): void {
    const node = this._notebook;
    node.replaceChildren();
    if (!this._path) {
      node.textContent = 'Open a notebook to attach secrets to it.';
      delete node.dataset.path;
      return;
    }
    node.dataset.path = this._path;
    const title = Private.div('jp-nj-SecretsPanel-notebookTitle');
    title.textContent = `Notebook: ${this._path}`;
    node.append(title);
    const attached = this._attachments?.secrets ?? [];
    const line = Private.div('jp-nj-SecretsPanel-attached');
    if (attached.length === 0) {
      line.textContent = 'No secrets attached.';
    }
    for (const item of attached) {
      const chip = document.createElement('span');
      chip.className = 'jp-nj-SecretChip';
      chip.dataset.name = item.name;
      chip.dataset.status = item.status;
      chip.textContent = item.name;
      if (item.status !== 'ok') {
        chip.title = `${item.name} is attached but you cannot read it (deleted, or not shared with you). Runtimes start without it.`;
        chip.classList.add('jp-nj-mod-unavailable');
      }
      const detach = document.createElement('button');
      detach.className = 'jp-nj-SecretChip-detach';
      detach.title = `Detach ${item.name} from this notebook`;
      detach.textContent = '×';
      detach.addEventListener(
        'click',
        () => void this._attach(item.name, false)
      );
      chip.append(detach);
      line.append(chip);
    }
    node.append(line);
  }

  private _renderSecret(secret: ISecret, attached: boolean): HTMLElement {
    const item = Private.div('jp-nj-Secret');
    item.dataset.name = secret.name;
    const head = Private.div('jp-nj-Secret-head');
    const name = document.createElement('code');
    name.className = 'jp-nj-Secret-name';
    name.textContent = secret.name;
    head.append(name);
    item.append(head);

    if (secret.description) {
      const description = Private.div('jp-nj-Secret-description');
      description.textContent = secret.description;
      item.append(description);
    }
    const meta = Private.div('jp-nj-Secret-meta');
    const owner =
      secret.can_manage === false ? `owned by ${secret.owner}` : 'yours';
    meta.textContent = `${owner} · ${describeSharing(secret)}`;
    item.append(meta);

    const actions = Private.div('jp-nj-Secret-actions');
    if (this._path) {
      const toggle = document.createElement('label');
      toggle.className = 'jp-nj-Secret-attach';
      toggle.title = `Give ${this._path} access to ${secret.name}`;
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = attached;
      box.addEventListener(
        'change',
        () => void this._attach(secret.name, box.checked)
      );
      toggle.append(box, document.createTextNode('Notebook access'));
      actions.append(toggle);
    }
    if (secret.can_manage !== false) {
      const edit = document.createElement('button');
      edit.className = 'jp-nj-Secret-edit';
      edit.textContent = 'Edit';
      edit.addEventListener('click', () => this._openForm(secret));
      const remove = document.createElement('button');
      remove.className = 'jp-nj-Secret-delete';
      remove.textContent = 'Delete';
      remove.addEventListener('click', () => void this._delete(secret.name));
      actions.append(edit, remove);
    }
    item.append(actions);
    return item;
  }

  private _openForm(secret: ISecret | null): void {
    this._form.open(secret);
  }

  private _closeForm(): void {
    this._form.close();
  }

  private async _save(
    name: string,
    change: ReturnType<typeof secretChange>,
    creating: boolean
  ): Promise<string | null> {
    if (creating && this._listing?.secrets.some(s => s.name === name)) {
      return `A secret named ${name} already exists: edit it instead.`;
    }
    try {
      await this._client.put(name, change);
    } catch (error) {
      return (error as Error).message;
    }
    this._form.close();
    await this.refresh();
    return null;
  }

  private async _delete(name: string): Promise<void> {
    const result = await showDialog({
      title: `Delete secret ${name}?`,
      body: 'Runtimes of notebooks that attach it start without it. This cannot be undone.',
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Delete' })]
    });
    if (!result.button.accept) {
      return;
    }
    try {
      await this._client.remove(name);
      this._showError('');
    } catch (error) {
      this._showError(`Cannot delete ${name}: ${(error as Error).message}`);
    }
    await this.refresh();
  }

  private async _attach(name: string, attach: boolean): Promise<void> {
    const notebook = this._currentNotebook();
    const path = this._path;
    if (!notebook || !path) {
      return;
    }
    const names = toggleName(
      (this._attachments?.secrets ?? []).map(s => s.name),
      name,
      attach
    );
    try {
      // The server writes the attachment into the saved notebook. A plain document is saved
      // first, so no pending edit is lost when it is given the new metadata below.
      const collaborative = notebook.context.model.collaborative;
      if (!collaborative && notebook.context.model.dirty) {
        await notebook.context.save();
      }
      const result = await this._client.setAttachments(path, names);
      this._attachments = result;
      const model = notebook.content.model;
      // The server writes the names into the real-time room when one is open; a document
      // edited without one is given them here, so its next save does not drop them.
      const saved = result.secrets.map(s => s.name);
      const nj = (model?.getMetadata('nj') as Record<string, unknown>) ?? {};
      if (model && JSON.stringify(nj.secrets ?? []) !== JSON.stringify(saved)) {
        model.setMetadata('nj', { ...nj, secrets: saved });
      }
      this._showError('');
    } catch (error) {
      this._showError(
        `Cannot ${attach ? 'attach' : 'detach'} ${name}: ${(error as Error).message}`
      );
    }
    await this.refresh();
  }

  private _listing: ISecretList | null = null;
  private _attachments: IAttachments | null = null;
  private _path: string | null = null;
  private _generation = 0;
  private _info: HTMLElement;
  private _error: HTMLElement;
  private _form: Private.SecretForm;
  private _notebook: HTMLElement;
  private _list: HTMLElement;
}

namespace Private {
  export function div(className: string): HTMLDivElement {
    const node = document.createElement('div');
    node.className = className;
    return node;
  }

  /**
   * The add/edit form. The value field is a password field that starts empty on every open and
   * is cleared on close: the panel never has the stored value to show.
   */
  export class SecretForm {
    constructor(
      private readonly _submit: (
        name: string,
        change: ReturnType<typeof secretChange>,
        creating: boolean
      ) => Promise<string | null>,
      private readonly _cancel: () => void
    ) {
      const form = document.createElement('form');
      form.className = 'jp-nj-SecretForm';
      form.hidden = true;
      form.autocomplete = 'off';
      this.node = form;
      this._title = div('jp-nj-SecretForm-title');
      this._name = this._field('Name', 'name', 'text', 'API_TOKEN');
      this._value = this._field('Value', 'value', 'password', '');
      this._value.autocomplete = 'new-password';
      this._description = this._field(
        'Description',
        'description',
        'text',
        'What it is for'
      );
      this._users = this._field(
        'Share with users',
        'users',
        'text',
        'alice, bob'
      );
      this._groups = this._field(
        'Share with groups',
        'groups',
        'text',
        'analysts'
      );
      this._error = div('jp-nj-SecretForm-error');
      const buttons = div('jp-nj-SecretForm-buttons');
      const save = document.createElement('button');
      save.type = 'submit';
      save.className = 'jp-nj-SecretForm-save';
      save.textContent = 'Save';
      const cancel = document.createElement('button');
      cancel.type = 'button';
      cancel.className = 'jp-nj-SecretForm-cancel';
      cancel.textContent = 'Cancel';
      cancel.addEventListener('click', () => this._cancel());
      buttons.append(save, cancel);
      form.prepend(this._title);
      form.append(this._error, buttons);
      form.addEventListener('submit', event => {
        event.preventDefault();
        void this._onSubmit();
      });
    }

    readonly node: HTMLFormElement;

    open(secret: ISecret | null): void {
      this._creating = secret === null;
      this.node.dataset.mode = this._creating ? 'add' : 'edit';
      this._title.textContent = this._creating
        ? 'New secret'
        : `Edit ${secret!.name}`;
      this._name.value = secret?.name ?? '';
      this._name.readOnly = !this._creating;
      this._value.value = '';
      this._value.placeholder = this._creating
        ? 'The value (write-only)'
        : 'Leave empty to keep the current value';
      this._description.value = secret?.description ?? '';
      this._users.value = (secret?.shared_with.users ?? []).join(', ');
      this._groups.value = (secret?.shared_with.groups ?? []).join(', ');
      this._error.textContent = '';
      this.node.hidden = false;
      (this._creating ? this._name : this._value).focus();
    }

    close(): void {
      this._value.value = '';
      this._error.textContent = '';
      this.node.hidden = true;
    }

    private _field(
      label: string,
      name: string,
      type: string,
      placeholder: string
    ): HTMLInputElement {
      const wrapper = document.createElement('label');
      wrapper.className = 'jp-nj-SecretForm-field';
      const text = document.createElement('span');
      text.textContent = label;
      const input = document.createElement('input');
      input.className = 'jp-mod-styled';
      input.name = name;
      input.type = type;
      input.placeholder = placeholder;
      input.spellcheck = false;
      wrapper.append(text, input);
      this.node.append(wrapper);
      return input;
    }

    private async _onSubmit(): Promise<void> {
      const name = this._name.value.trim();
      if (!SECRET_NAME.test(name)) {
        this._error.textContent =
          'Use letters, digits and underscores, not starting with a digit (the name becomes an environment variable).';
        return;
      }
      if (this._creating && !this._value.value) {
        this._error.textContent = 'A new secret needs a value.';
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
    private _error: HTMLElement;
  }
}
