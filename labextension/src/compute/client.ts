import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from '../request';
import type { INotebookRuntimes, IRun, RuntimeAction } from './tokens';

/**
 * The Compute REST API (`/nj/api/compute`, `/nj/api/runs`), typed.
 */
export class ComputeClient {
  /**
   * @param serverSettings - the server connection settings of the application.
   */
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  /** The runtimes of the notebook whose own kernel is `kernelId`, with their states. */
  runtimes(kernelId: string): Promise<INotebookRuntimes> {
    return requestAPI<INotebookRuntimes>(
      `compute/${encodeURIComponent(kernelId)}/runtimes`,
      {},
      this.serverSettings
    );
  }

  /** Start, restart, interrupt or stop one runtime of the notebook of kernel `kernelId`. */
  control(
    kernelId: string,
    name: string,
    action: RuntimeAction
  ): Promise<INotebookRuntimes> {
    // The answer is the notebook's runtimes after the action.
    return requestAPI<INotebookRuntimes>(
      `compute/${encodeURIComponent(kernelId)}/runtimes/${encodeURIComponent(name)}/${action}`,
      { method: 'POST' },
      this.serverSettings
    );
  }

  /** Start a headless run of the notebook at `path`. */
  startRun(
    path: string,
    output: string,
    parameters: Record<string, unknown>
  ): Promise<IRun> {
    return requestAPI<IRun>(
      'runs',
      {
        method: 'POST',
        body: JSON.stringify({ path, output, parameters })
      },
      this.serverSettings
    );
  }

  /** A run as the server knows it now. */
  run(id: string): Promise<IRun> {
    return requestAPI<IRun>(
      `runs/${encodeURIComponent(id)}`,
      {},
      this.serverSettings
    );
  }
}
