import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from '../request';
import { diffSpec, historyEndpoint } from './format';
import type {
  IHistoryClient,
  IHistoryDiff,
  IHistoryDiffOptions,
  IHistoryPage,
  IHistoryRestoreResult,
  IHistoryVersion,
  IHistoryVersionContent
} from './tokens';

/**
 * The History REST client over `/nj/api/history/{path}`.
 */
export class HistoryClient implements IHistoryClient {
  constructor(serverSettings: ServerConnection.ISettings) {
    this._settings = serverSettings;
  }

  /** One page of versions, newest first. */
  list(
    path: string,
    limit: number,
    before: string | null = null
  ): Promise<IHistoryPage> {
    return requestAPI<IHistoryPage>(
      historyEndpoint(path, { limit, before }),
      {},
      this._settings
    );
  }

  /** One version with its content. */
  version(path: string, id: string): Promise<IHistoryVersionContent> {
    return requestAPI<IHistoryVersionContent>(
      historyEndpoint(path, { version: id }),
      {},
      this._settings
    );
  }

  /** nbdime diff from `base` to `remote`. */
  diff(
    path: string,
    base: string,
    remote: string,
    options: IHistoryDiffOptions = {}
  ): Promise<IHistoryDiff> {
    return requestAPI<IHistoryDiff>(
      historyEndpoint(path, {
        diff: diffSpec(base, remote),
        ignore_outputs: options.ignoreOutputs ? 'true' : undefined
      }),
      {},
      this._settings
    );
  }

  /** Restore a version as a new version. */
  restore(path: string, id: string): Promise<IHistoryRestoreResult> {
    return requestAPI<IHistoryRestoreResult>(
      historyEndpoint(path),
      { method: 'POST', body: JSON.stringify({ restore: id }) },
      this._settings
    );
  }

  /** Set or remove a version's label. */
  async label(
    path: string,
    id: string,
    label: string
  ): Promise<IHistoryVersion> {
    const answer = await requestAPI<{ version: IHistoryVersion }>(
      historyEndpoint(path),
      { method: 'POST', body: JSON.stringify({ label, version: id }) },
      this._settings
    );
    return answer.version;
  }

  private _settings: ServerConnection.ISettings;
}
