/**
 * Types of the Secrets pillar, as `/nj/api/secrets` and `/nj/api/secret-attachments` send them,
 * and the secrets model's token. A secret's value never appears here: the server never sends it
 * back to a browser.
 */
import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';

/**
 * Who a secret is shared with.
 */
export interface ISecretSharing {
  /** User names. */
  users: string[];
  /** Group names. */
  groups: string[];
}

/**
 * A secret's metadata (never its value).
 */
export interface ISecret {
  /** Name: letters, digits and underscores; also the runtime's environment variable name. */
  name: string;
  /** What the secret is for. */
  description: string;
  /** The user who owns it (and alone may change, share or delete it). */
  owner: string;
  /** Who else may use it. */
  shared_with: ISecretSharing;
  /** When it was created (ISO 8601), if the store records it. */
  created: string;
  /** When it was last changed (ISO 8601), if the store records it. */
  updated: string;
  /** The store's version counter of the value. */
  version: number;
  /** Whether the current user may change, share or delete it. */
  can_manage?: boolean;
}

/**
 * `GET /nj/api/secrets`: the secrets the current user can see.
 */
export interface ISecretList {
  /** The store in use: `local` (encrypted file) or `vault`. */
  backend: string;
  /** The current user, as the server resolves it. */
  user: string;
  /** The current user's groups. */
  groups: string[];
  /** Visible secrets. */
  secrets: ISecret[];
}

/**
 * The body of `PUT /nj/api/secrets/{name}`: every field optional on an update.
 */
export interface ISecretChange {
  /** The new value; omitted to keep the current one. */
  value?: string;
  /** The new description. */
  description?: string;
  /** The new sharing (replaces the old). */
  shared_with?: ISecretSharing;
}

/**
 * One secret attached to a notebook.
 */
export interface IAttachedSecret {
  /** Secret name. */
  name: string;
  /** `ok`, or `unavailable` when the current user cannot read it (deleted or not shared). */
  status: string;
}

/**
 * `GET/PUT /nj/api/secret-attachments/{path}`: the names in a notebook's `metadata.nj.secrets`.
 */
export interface IAttachments {
  /** The notebook's API path. */
  path: string;
  /** Attached secrets, in order. */
  secrets: IAttachedSecret[];
}

/**
 * The secrets the user can see and the ones attached to the current notebook, with what can be
 * done to them. Other plugins read it to know which secrets a notebook's runtime gets.
 */
export interface ISecretsModel {
  /** The latest listing, or null before the first answer (or when it failed). */
  readonly listing: ISecretList | null;
  /** The current notebook's attachments, or null when there is none (or it is not saved). */
  readonly attachments: IAttachments | null;
  /** The current notebook's API path, or null when no notebook is current. */
  readonly path: string | null;
  /** The notebook the current one was remixed from (`metadata.nj.remix`), or null. */
  readonly remixedFrom: string | null;
  /** What went wrong last, one problem a line; empty when nothing did. */
  readonly error: string;
  /** Emitted whenever anything above changes. */
  readonly changed: ISignal<ISecretsModel, void>;
  /** Ask the server for the secrets and the current notebook's attachments. */
  refresh(): Promise<void>;
  /** Add (`creating`) or change a secret; resolves with what went wrong, or null. */
  save(
    name: string,
    change: ISecretChange,
    creating: boolean
  ): Promise<string | null>;
  /** Delete a secret (no confirmation: the caller asks). */
  remove(name: string): Promise<void>;
  /** Attach a secret to the current notebook, or detach it. */
  attach(name: string, attach: boolean): Promise<void>;
}

/**
 * The secrets model token, provided by the Secrets plugin.
 */
export const ISecretsModel = new Token<ISecretsModel>(
  'jupyter-nj:ISecretsModel',
  'The secrets the user can see, and those attached to the current notebook.'
);

/**
 * Command ids of the Secrets pillar.
 */
export namespace SecretCommandIDs {
  /** Open the Secrets side panel. */
  export const openSecrets = 'jupyter-nj:open-secrets';
}
