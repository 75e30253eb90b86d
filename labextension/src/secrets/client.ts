import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from '../request';
import type { IPrincipals } from '../sharing/tokens';
import { attachmentsEndpoint } from './format';
import type {
  IAttachments,
  ISecret,
  ISecretChange,
  ISecretList
} from './tokens';

/**
 * The Secrets REST API, typed. No method ever receives a secret's value.
 */
export class SecretsClient {
  /**
   * @param serverSettings - the server connection settings of the application.
   */
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  /** The secrets the current user can see, and who the server thinks the user is. */
  list(): Promise<ISecretList> {
    return requestAPI<ISecretList>('secrets', {}, this.serverSettings);
  }

  /** Create or change a secret; resolves to its metadata. */
  put(name: string, change: ISecretChange): Promise<ISecret> {
    return requestAPI<ISecret>(
      `secrets/${encodeURIComponent(name)}`,
      { method: 'PUT', body: JSON.stringify(change) },
      this.serverSettings
    );
  }

  /** Delete a secret (owner only). */
  async remove(name: string): Promise<void> {
    await requestAPI<string>(
      `secrets/${encodeURIComponent(name)}`,
      { method: 'DELETE' },
      this.serverSettings
    );
  }

  /**
   * The users and groups a secret can be shared with, as choices (`GET /nj/api/principals`,
   * served by the sharing pillar: the same names the Share dialog offers).
   */
  principals(): Promise<IPrincipals> {
    return requestAPI<IPrincipals>('principals', {}, this.serverSettings);
  }

  /** The secrets attached to the notebook at `path`. */
  attachments(path: string): Promise<IAttachments> {
    return requestAPI<IAttachments>(
      attachmentsEndpoint(path),
      {},
      this.serverSettings
    );
  }

  /** Replace the secrets attached to the notebook at `path` (names only). */
  setAttachments(path: string, names: string[]): Promise<IAttachments> {
    return requestAPI<IAttachments>(
      attachmentsEndpoint(path),
      { method: 'PUT', body: JSON.stringify({ secrets: names }) },
      this.serverSettings
    );
  }
}
