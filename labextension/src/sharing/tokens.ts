/**
 * Types of the Sharing pillar's REST contract (`/nj/api/import/{path}`, `/nj/api/export/{path}`)
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
}
