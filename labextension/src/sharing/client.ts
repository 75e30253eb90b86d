import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from '../request';
import { dispositionFilename, sharingEndpoint } from './format';
import type {
  ExportFormat,
  IExported,
  IImportOptions,
  IImportResult,
  IRemixOptions,
  IRemixResult,
  ISharingClient
} from './tokens';

/**
 * The Sharing REST client over `/nj/api/import/{path}`, `/nj/api/export/{path}` and
 * `/nj/api/remix/{path}`.
 */
export class SharingClient implements ISharingClient {
  constructor(serverSettings: ServerConnection.ISettings) {
    this._settings = serverSettings;
  }

  /** Import a text file as a notebook. */
  importNotebook(
    path: string,
    options: IImportOptions = {}
  ): Promise<IImportResult> {
    return requestAPI<IImportResult>(
      sharingEndpoint('import', path),
      { method: 'POST', body: JSON.stringify(options) },
      this._settings
    );
  }

  /** Remix a notebook. */
  remix(path: string, options: IRemixOptions = {}): Promise<IRemixResult> {
    return requestAPI<IRemixResult>(
      sharingEndpoint('remix', path),
      { method: 'POST', body: JSON.stringify(options) },
      this._settings
    );
  }

  /**
   * A notebook as text. Not through `requestAPI`, which parses JSON: the answer is a download
   * whose name is in its headers. Errors are JSON and become a `ResponseError` the same way.
   */
  async exportNotebook(
    path: string,
    format: ExportFormat,
    version: string | null = null
  ): Promise<IExported> {
    const url = URLExt.join(
      this._settings.baseUrl,
      'nj',
      'api',
      sharingEndpoint('export', path, { format, version })
    );
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, {}, this._settings);
    } catch (error) {
      throw new ServerConnection.NetworkError(error as TypeError);
    }
    const text = await response.text();
    if (!response.ok) {
      let message = text;
      try {
        message = JSON.parse(text).message ?? text;
      } catch {
        // Not JSON: keep the text.
      }
      throw new ServerConnection.ResponseError(response, message);
    }
    const fallback = `${path.split('/').pop() ?? 'notebook'}.${format}`;
    return {
      filename: dispositionFilename(
        response.headers.get('Content-Disposition'),
        fallback
      ),
      text,
      mediaType: response.headers.get('Content-Type') ?? 'text/plain'
    };
  }

  private _settings: ServerConnection.ISettings;
}
