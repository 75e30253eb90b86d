/**
 * Types of the History pillar's REST contract (`/nj/api/history/{path}`). No side effects, no
 * JupyterLab imports: the pure modules and their unit tests use these too.
 */

/**
 * One version of a file, as the server lists it (newest first).
 */
export interface IHistoryVersion {
  /** The version id (a commit id in the history store, hex). */
  id: string;
  /** When the version was recorded, ISO 8601 in UTC. */
  created: string;
  /** Everyone who edited since the previous version (one name in single-user mode). */
  authors: string[];
  /** The version's message, e.g. "save" or "restore of 1a2b3c4". */
  message: string;
  /** The user's label, or null when the version has none. */
  label: string | null;
  /** Whether the version came from an explicit save (Ctrl-S): a checkpoint. */
  checkpoint: boolean;
  /** Size of the file's content in bytes. */
  size: number;
  /** The file's API path when the version was recorded (files keep history across renames). */
  path: string;
}

/**
 * One page of a file's history: `GET /nj/api/history/{path}?limit=&before=`.
 */
export interface IHistoryPage {
  /** The API path asked about. */
  path: string;
  /** The file's stable id (jupyter_server_fileid), or null when the server has none. */
  file_id: string | null;
  /** The versions on this page, newest first. */
  versions: IHistoryVersion[];
  /** Cursor for the next (older) page, or null when this is the last page. */
  next: string | null;
}

/**
 * One version with its content: `GET /nj/api/history/{path}?version={id}`.
 */
export interface IHistoryVersionContent extends IHistoryVersion {
  /** How `content` is encoded: a notebook (nbformat JSON), text, or base64 bytes. */
  format: 'json' | 'text' | 'base64';
  /** The content: an nbformat notebook object when `format` is `json`, a string otherwise. */
  content: any;
}

/**
 * An nbdime diff of two versions: `GET /nj/api/history/{path}?diff={a}..{b}`.
 */
export interface IHistoryDiff {
  /** The base document (an nbformat notebook, or text for other files). */
  base: any;
  /** nbdime's diff entries turning `base` into the remote document. */
  diff: any[];
  /** The base version id. */
  base_version: string;
  /** The remote version id, or `current` for the file as it is now. */
  remote_version: string;
}

/**
 * The answer to a restore: `POST /nj/api/history/{path}` with `{"restore": id}`.
 */
export interface IHistoryRestoreResult {
  /** The version that was restored. */
  restored: string;
  /** How the content reached the file: through the open real-time document, or the contents API. */
  via: 'shared-document' | 'contents';
  /** The new version the restore appended, or null when the recorder writes it a moment later. */
  version: IHistoryVersion | null;
}

/**
 * Options for a diff request.
 */
export interface IHistoryDiffOptions {
  /** Compare sources and metadata only, not cell outputs. */
  ignoreOutputs?: boolean;
}

/**
 * The History REST client: every call takes the API path without a drive prefix.
 */
export interface IHistoryClient {
  /** One page of versions, newest first; `before` is the `next` cursor of the previous page. */
  list(
    path: string,
    limit: number,
    before?: string | null
  ): Promise<IHistoryPage>;
  /** One version with its content. */
  version(path: string, id: string): Promise<IHistoryVersionContent>;
  /** nbdime diff from `base` to `remote` (`remote` may be `current`). */
  diff(
    path: string,
    base: string,
    remote: string,
    options?: IHistoryDiffOptions
  ): Promise<IHistoryDiff>;
  /** Restore a version: the server appends it as a new version. */
  restore(path: string, id: string): Promise<IHistoryRestoreResult>;
  /** Set (or, with an empty string, remove) a version's label. */
  label(path: string, id: string, label: string): Promise<IHistoryVersion>;
}

/**
 * The remote id that names the file as it is now, in a diff.
 */
export const CURRENT_VERSION = 'current';

/**
 * Command ids of the History plugin.
 */
export namespace HistoryCommandIDs {
  /** Open the History side panel; args `{pageSize?}` (versions per page). */
  export const open = 'jupyter-nj:history-open';
  /** Refresh the History panel now. */
  export const refresh = 'jupyter-nj:history-refresh';
  /** Open a version read-only; args `{path, version}`. */
  export const view = 'jupyter-nj:history-view';
  /** Open nbdime's diff of two versions; args `{path, base, remote}` (`remote` may be `current`). */
  export const diff = 'jupyter-nj:history-diff';
  /** Restore a version after confirmation; args `{path, version}`. */
  export const restore = 'jupyter-nj:history-restore';
  /** Label a version; args `{path, version, label?}` (asks for the label when it is missing). */
  export const label = 'jupyter-nj:history-label';
}
