import {
  CodeEditor,
  CodeEditorWrapper,
  IEditorMimeTypeService
} from '@jupyterlab/codeeditor';
import type * as nbformat from '@jupyterlab/nbformat';
import { NotebookModel, StaticNotebook } from '@jupyterlab/notebook';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { type ITranslator, nullTranslator } from '@jupyterlab/translation';
import { Panel, Widget } from '@lumino/widgets';

import { TRANSLATION_DOMAIN, type ITrans } from '../translation';
import { formatSize, formatVersionAuthors, versionTitle } from './format';
import type { IHistoryClient, IHistoryVersionContent } from './tokens';

/**
 * One version of a file, read-only: a notebook rendered with JupyterLab's own cells (every cell
 * read-only, no kernel), text in a read-only editor, anything else as a size note. Nothing shown
 * here is ever written back: the only way back into the file is the explicit restore.
 */
export class VersionViewer extends Panel {
  constructor(options: VersionViewer.IOptions) {
    super();
    this._options = options;
    this._trans = (options.translator ?? nullTranslator).load(
      TRANSLATION_DOMAIN
    );
    this.addClass('jp-nj-VersionViewer');
    this.node.dataset.path = options.path;
    this.node.dataset.version = options.version;
    this.node.dataset.state = 'loading';
    this._note = new Widget();
    this._note.addClass('jp-nj-VersionViewer-note');
    this._note.node.textContent = this._trans.__('Loading the version…');
    this.addWidget(this._note);
  }

  /** The loaded version, or null before it arrived. */
  get version(): IHistoryVersionContent | null {
    return this._version;
  }

  /** Fetch the version and draw it. */
  async load(): Promise<IHistoryVersionContent | null> {
    let version: IHistoryVersionContent;
    try {
      version = await this._options.client.version(
        this._options.path,
        this._options.version
      );
    } catch (error) {
      if (!this.isDisposed) {
        this._note.node.textContent = this._trans.__(
          'Could not load the version: %1',
          (error as Error).message
        );
        this._note.addClass('jp-mod-error');
        this.node.dataset.state = 'error';
      }
      return null;
    }
    if (this.isDisposed) {
      return null;
    }
    this._version = version;
    const trans = this._trans;
    this._note.node.textContent = trans.__(
      '%1 · %2 · %3 · read-only',
      versionTitle(version),
      formatVersionAuthors(version, trans),
      formatSize(version.size)
    );
    // Display names are what people read; the usernames are the stable names behind them.
    this._note.node.title = trans.__(
      '%1\n%2\nby %3',
      version.id,
      version.message,
      version.authors.join(', ')
    );
    const body =
      version.format === 'json'
        ? this._notebook(version.content as nbformat.INotebookContent)
        : version.format === 'text'
          ? this._text(String(version.content))
          : Private.binaryNote(version.size, trans);
    body.addClass('jp-nj-VersionViewer-body');
    this.addWidget(body);
    this.node.dataset.state = 'ready';
    return version;
  }

  private _notebook(content: nbformat.INotebookContent): Widget {
    const model = new NotebookModel();
    model.fromJSON(content);
    const notebook = new StaticNotebook({
      rendermime: this._options.rendermime,
      contentFactory: this._options.contentFactory,
      mimeTypeService: this._options.mimeTypeService,
      translator: this._options.translator,
      // Every cell exists up front so each one can be made read-only.
      notebookConfig: {
        ...StaticNotebook.defaultNotebookConfig,
        windowingMode: 'none'
      }
    });
    notebook.model = model;
    for (const cell of notebook.widgets) {
      cell.readOnly = true;
    }
    notebook.addClass('jp-nj-VersionViewer-notebook');
    notebook.disposed.connect(() => model.dispose());
    return notebook;
  }

  private _text(text: string): Widget {
    const model = new CodeEditor.Model({
      mimeType: this._options.mimeTypeService.getMimeTypeByFilePath(
        this._options.path
      )
    });
    model.sharedModel.setSource(text);
    const editor = new CodeEditorWrapper({
      factory: this._options.editorFactory,
      model,
      editorOptions: { config: { readOnly: true, lineNumbers: true } }
    });
    editor.disposed.connect(() => model.dispose());
    return editor;
  }

  private _options: VersionViewer.IOptions;
  private _trans: ITrans;
  private _note: Widget;
  private _version: IHistoryVersionContent | null = null;
}

/**
 * The VersionViewer's statics.
 */
export namespace VersionViewer {
  /**
   * Construction options.
   */
  export interface IOptions {
    /** The History REST client. */
    client: IHistoryClient;
    /** The file's API path (no drive prefix). */
    path: string;
    /** The version id. */
    version: string;
    /** Renders outputs and Markdown. */
    rendermime: IRenderMimeRegistry;
    /** Creates the notebook's cells (JupyterLab's notebook content factory). */
    contentFactory: StaticNotebook.IContentFactory;
    /** Maps languages and file names to editor MIME types. */
    mimeTypeService: IEditorMimeTypeService;
    /** Creates the text editor for non-notebook files. */
    editorFactory: CodeEditor.Factory;
    /** The application's translator. */
    translator?: ITranslator;
  }
}

namespace Private {
  /** What a binary version shows. */
  export function binaryNote(size: number, trans: ITrans): Widget {
    const widget = new Widget();
    widget.node.textContent = trans.__(
      'Binary content (%1): restore it to open it.',
      formatSize(size)
    );
    return widget;
  }
}
