/**
 * Types of the Sharing pillar's REST contract (`/nj/api/import/{path}`, `/nj/api/export/{path}`,
 * `/nj/api/remix/{path}`)
 * and its command ids. No side effects, no JupyterLab imports: the pure modules and their unit
 * tests use these too, and the History panel names the export command from here.
 */

/**
 * A text format a notebook is exported to (and, by its suffix, imported from).
 */
export type ExportFormat = 'md' | 'myst' | 'rmd' | 'py';

/**
 * The answer to an import: `POST /nj/api/import/{path}`.
 */
export interface IImportResult {
  /** The API path of the notebook written. */
  path: string;
  /** Its file name. */
  name: string;
  /** Always `notebook`. */
  type: 'notebook';
  /** When the notebook was saved. */
  last_modified: string;
  /** The text file it was imported from. */
  source: string;
  /** The format the source was read as. */
  format: ExportFormat;
  /** How many cells the notebook has. */
  cells: number;
}

/**
 * Options of an import.
 */
export interface IImportOptions {
  /** The notebook to write; by default the source's folder and stem with `.ipynb`. */
  to?: string;
  /** Replace the target if it exists (otherwise the server answers 409). */
  overwrite?: boolean;
  /** Read the source as this format instead of the one its suffix and content say. */
  format?: ExportFormat;
}

/**
 * A notebook exported as text, ready to download.
 */
export interface IExported {
  /** The file name the server suggests (Content-Disposition). */
  filename: string;
  /** The text. */
  text: string;
  /** Its media type. */
  mediaType: string;
}

/**
 * Where a remix came from: `metadata.nj.remix.from` of the copy.
 */
export interface IRemixOrigin {
  /** The original's API path when it was remixed. */
  path: string;
  /** The original's file id, or null. */
  file_id: string | null;
  /** The original's version the remix started from. */
  version: string;
  /** Who wrote the original up to that version (user names). */
  authors: string[];
  /** Their display names, same order (may be absent). */
  author_display_names?: string[];
}

/**
 * `metadata.nj.remix` of a remixed notebook.
 */
export interface IRemixMetadata {
  /** The original. */
  from: IRemixOrigin;
  /** When the remix was made, ISO 8601 in UTC. */
  at: string;
}

/**
 * Options of a remix.
 */
export interface IRemixOptions {
  /** A version id of the original, or `current` (the default). */
  version?: string;
  /** The notebook to write; by default `<stem>-remix.ipynb` beside the original. */
  to?: string;
}

/**
 * The answer to a remix: `POST /nj/api/remix/{path}`.
 */
export interface IRemixResult {
  /** The API path of the new notebook. */
  path: string;
  /** The remix's history id. */
  history_id: string;
  /** The remix's first version (a history version). */
  version: { id: string; created: string };
  /** The original and its version. */
  from: IRemixOrigin & { history_id: string };
  /** The attached secret names the copy kept (values never travel). */
  secrets: string[];
  /** The runtime pins the copy kept (`metadata.nj.runtimes`). */
  runtimes: Record<string, unknown>;
  /** `metadata.nj.remix` as written. */
  remix: IRemixMetadata;
}

/**
 * The Sharing REST client: every call takes the API path without a drive prefix.
 */
export interface ISharingClient {
  /** Import a .md, .Rmd or percent .py file as a notebook. */
  importNotebook(
    path: string,
    options?: IImportOptions
  ): Promise<IImportResult>;
  /** A notebook, at a history version or as it is now, as text. */
  exportNotebook(
    path: string,
    format: ExportFormat,
    version?: string | null
  ): Promise<IExported>;
  /** Remix a notebook (a copy with its pins, results folder and history). */
  remix(path: string, options?: IRemixOptions): Promise<IRemixResult>;
}

/**
 * Command ids of the Sharing plugin.
 */
export namespace SharingCommandIDs {
  /**
   * Export a notebook as text and download it; args `{path?, version?, format?}` (the current
   * notebook and file as it is now by default; asks for the format when it is missing).
   */
  export const exportNotebook = 'jupyter-nj:export-notebook';
  /**
   * Import a .md, .Rmd or .py file as a notebook and open it; args `{path?, to?}` (the file
   * selected in the file browser by default).
   */
  export const importNotebook = 'jupyter-nj:import-notebook';
  /**
   * Remix a notebook and open the copy; args `{path?, version?, to?}` (the current notebook as
   * it is now by default; asks for the new name when `to` is missing).
   */
  export const remixNotebook = 'jupyter-nj:remix-notebook';
}

/**
 * One group a user can name: `members` when the server knows them (its configured groups),
 * null when it only knows the name (a hub group).
 */
export interface IPrincipalGroup {
  /** The group's name. */
  name: string;
  /** Its members' user names, or null. */
  members: string[] | null;
}

/**
 * `GET /nj/api/principals`: the users and groups the current user can name when sharing a
 * secret or a notebook. Choices only: any other name may still be typed.
 */
export interface IPrincipals {
  /** `hub`: the hub's users and groups; `server`: the server's configured groups. */
  source: 'hub' | 'server';
  /** Whether the server runs under JupyterHub (sharing a notebook by name needs one). */
  hub: boolean;
  /** User names. */
  users: string[];
  /** Groups. */
  groups: IPrincipalGroup[];
}

/**
 * Whom a named share is with: one hub user or one hub group.
 */
export type ShareTarget = { user: string } | { group: string };
