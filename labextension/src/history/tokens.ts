/**
 * Types of the History pillar's REST contract (`/nj/api/history/{path}`) and its model token. No
 * side effects, no JupyterLab imports: the pure modules and their unit tests use these too.
 */
import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';

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
  /**
   * A display name per entry of `authors`, same length and order; absent from older servers.
   * The usernames stay the stable key: these are only what people read.
   */
  author_display_names?: string[];
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
  /**
   * Listed from a remix: a version of the original, from before the remix (it can be viewed,
   * diffed and restored into the remix, not labelled). Absent from older servers.
   */
  before_remix?: boolean;
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
  /** A remix: the original's history and the version the remix began from, else null. */
  remixed_from?: { history_id: string; version: string } | null;
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
 * The versions of the current file as the History panel shows them, page by page, with the two
 * versions picked for comparison. Other plugins read it to follow the history of the current
 * file, and refresh it after they change the file on the server.
 */
export interface IHistoryModel {
  /** Versions asked for per page (the server's `limit`, 1-1000). */
  pageSize: number;
  /** The API path whose history is shown (no drive prefix), or null when no file is current. */
  readonly path: string | null;
  /** The versions loaded so far, newest first. */
  readonly versions: readonly IHistoryVersion[];
  /** The newest version's id, or null. */
  readonly head: string | null;
  /** Whether older versions remain on the server. */
  readonly hasMore: boolean;
  /** Whether a request is in flight. */
  readonly loading: boolean;
  /** Whether the first page of the current file has been loaded. */
  readonly loaded: boolean;
  /** The last error (the server's message), or null when the last request worked. */
  readonly error: string | null;
  /** The selected version ids, in the order the user picked them (at most two). */
  readonly selection: readonly string[];
  /** Emitted whenever anything above changes. */
  readonly changed: ISignal<IHistoryModel, void>;
  /** Show another file (an API path, or null for none). */
  setPath(path: string | null): Promise<void>;
  /** Load the newest page again. */
  refresh(): Promise<void>;
  /** Load the next (older) page. */
  loadMore(): Promise<void>;
  /** Refresh until the newest version differs from `previousHead`; resolves whether it did. */
  refreshUntilNew(
    previousHead: string | null,
    delaysMs?: number[]
  ): Promise<boolean>;
  /** Select or unselect a version for comparison. */
  toggleSelected(id: string): void;
  /** Clear the selection. */
  clearSelection(): void;
  /** The selected pair ordered as a diff reads (older as base), or null. */
  selectedPair(): { base: string; remote: string } | null;
  /** Replace a version's record (after a label changed), keeping its place. */
  updateVersion(version: IHistoryVersion): void;
}

/**
 * The History model token: the current file's versions, provided by the History plugin.
 */
export const IHistoryModel = new Token<IHistoryModel>(
  'jupyter-nj:IHistoryModel',
  'The versions of the current file, as the History panel shows them.'
);

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
