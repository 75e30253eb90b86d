import type { NotebookPanel } from '@jupyterlab/notebook';
import { type ISignal, Signal } from '@lumino/signaling';

import { apiPath } from '../paths';
import { type ITrans, untranslated } from '../translation';
import type { SecretsClient } from './client';
import { toggleName } from './format';
import type {
  IAttachments,
  ISecretChange,
  ISecretList,
  ISecretsModel
} from './tokens';

/**
 * The calls the model makes: the REST client's, so tests can hand it an in-memory one.
 */
export type ISecretsCalls = Pick<
  SecretsClient,
  'list' | 'put' | 'remove' | 'attachments' | 'setAttachments'
>;

/**
 * The secrets the user can see and the current notebook's attachments, kept from the server's
 * answers. Answers that arrive after a newer refresh started are dropped, so switching notebooks
 * quickly never shows one notebook's attachments under another's name.
 */
export class SecretsModel implements ISecretsModel {
  /**
   * @param client - the Secrets REST client.
   * @param currentNotebook - the notebook attachments act on, if any.
   * @param trans - the jupyter-nj translation bundle (for the problems it reports).
   */
  constructor(
    private readonly _client: ISecretsCalls,
    private readonly _currentNotebook: () => NotebookPanel | null,
    private readonly _trans: ITrans = untranslated
  ) {}

  /** The latest listing, or null before the first answer (or when it failed). */
  get listing(): ISecretList | null {
    return this._listing;
  }

  /** The current notebook's attachments, or null. */
  get attachments(): IAttachments | null {
    return this._attachments;
  }

  /** The current notebook's API path, or null. */
  get path(): string | null {
    return this._path;
  }

  /**
   * The path of the notebook the current one was remixed from (`metadata.nj.remix`), or null:
   * a remix keeps its secrets' names, never their values.
   */
  get remixedFrom(): string | null {
    const nj = this._currentNotebook()?.model?.getMetadata('nj') as
      { remix?: { from?: { path?: unknown } } } | undefined;
    const path = nj?.remix?.from?.path;
    return typeof path === 'string' ? path : null;
  }

  /** What went wrong last, one problem a line; empty when nothing did. */
  get error(): string {
    return this._error;
  }

  /** Emitted whenever anything above changes. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Ask the server for the secrets and the current notebook's attachments. */
  async refresh(): Promise<void> {
    const trans = this._trans;
    const generation = ++this._generation;
    const notebook = this._currentNotebook();
    const path = notebook ? apiPath(notebook.context.path) : null;
    let listing: ISecretList | null = null;
    let attachments: IAttachments | null = null;
    const problems: string[] = [];
    try {
      listing = await this._client.list();
    } catch (error) {
      problems.push(
        trans.__('Cannot list secrets: %1', (error as Error).message)
      );
    }
    if (path) {
      try {
        attachments = await this._client.attachments(path);
      } catch (error) {
        // A notebook never saved yet has no attachments to show.
        if ((error as any)?.response?.status !== 404) {
          problems.push(
            trans.__(
              "Cannot read the notebook's secrets: %1",
              (error as Error).message
            )
          );
        }
      }
    }
    if (generation !== this._generation) {
      return;
    }
    this._listing = listing;
    this._attachments = attachments;
    this._path = path;
    this._error = problems.join('\n');
    this._changed.emit();
  }

  /** Add (`creating`) or change a secret; resolves with what went wrong, or null. */
  async save(
    name: string,
    change: ISecretChange,
    creating: boolean
  ): Promise<string | null> {
    if (creating && this._listing?.secrets.some(s => s.name === name)) {
      return this._trans.__(
        'A secret named %1 already exists: edit it instead.',
        name
      );
    }
    try {
      await this._client.put(name, change);
    } catch (error) {
      return (error as Error).message;
    }
    await this.refresh();
    return null;
  }

  /** Delete a secret (no confirmation: the caller asks). */
  async remove(name: string): Promise<void> {
    try {
      await this._client.remove(name);
      this._setError('');
    } catch (error) {
      this._setError(
        this._trans.__('Cannot delete %1: %2', name, (error as Error).message)
      );
    }
    await this.refresh();
  }

  /** Attach a secret to the current notebook, or detach it. */
  async attach(name: string, attach: boolean): Promise<void> {
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
      this._setError('');
    } catch (error) {
      this._setError(
        attach
          ? this._trans.__(
              'Cannot attach %1: %2',
              name,
              (error as Error).message
            )
          : this._trans.__(
              'Cannot detach %1: %2',
              name,
              (error as Error).message
            )
      );
    }
    await this.refresh();
  }

  private _setError(error: string): void {
    this._error = error;
    this._changed.emit();
  }

  private _listing: ISecretList | null = null;
  private _attachments: IAttachments | null = null;
  private _path: string | null = null;
  private _error = '';
  private _generation = 0;
  private _changed = new Signal<this, void>(this);
}
