/**
 * Types of the Secrets pillar, as `/nj/api/secrets` and `/nj/api/secret-attachments` send them.
 * A secret's value never appears here: the server never sends it back to a browser.
 */

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
 * Command ids of the Secrets pillar.
 */
export namespace SecretCommandIDs {
  /** Open the Secrets side panel. */
  export const openSecrets = 'jupyter-nj:open-secrets';
}
