import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from '../request';
import type {
  IEnvironment,
  IEnvironmentVersion,
  IGpuChoice,
  IGpuInventory,
  IRuntimeInfo,
  IRuntimePin,
  ISnapshotResult
} from './tokens';

/**
 * The Runtimes REST API (`/nj/api/environments`, `/nj/api/runtimes`), typed.
 */
export class RuntimesClient {
  /**
   * @param serverSettings - the server connection settings of the application.
   */
  constructor(readonly serverSettings: ServerConnection.ISettings) {}

  /** Every environment with its built versions. */
  async environments(): Promise<IEnvironment[]> {
    const reply = await requestAPI<{ environments: IEnvironment[] }>(
      'environments',
      {},
      this.serverSettings
    );
    return reply.environments;
  }

  /** Build the current definition of `name` on `backend`; resolves when the build is done. */
  build(name: string, backend: string): Promise<IEnvironmentVersion> {
    return requestAPI<IEnvironmentVersion>(
      `environments/${encodeURIComponent(name)}/build`,
      { method: 'POST', body: JSON.stringify({ backend }) },
      this.serverSettings
    );
  }

  /** What a kernel runs; a `ResponseError` with status 409 when it is not a jupyter-nj runtime. */
  runtime(kernelId: string): Promise<IRuntimeInfo> {
    return requestAPI<IRuntimeInfo>(
      `runtimes/${encodeURIComponent(kernelId)}`,
      {},
      this.serverSettings
    );
  }

  /** Pin the notebook at `path` to exactly the version its kernel runs. */
  pin(
    kernelId: string,
    path: string
  ): Promise<{ path: string; pin: IRuntimePin }> {
    return requestAPI(
      `runtimes/${encodeURIComponent(kernelId)}/pin`,
      { method: 'POST', body: JSON.stringify({ path }) },
      this.serverSettings
    );
  }

  /** "Save environment": the runtime's state becomes a new version; `path` is re-pinned. */
  snapshot(kernelId: string, path: string | null): Promise<ISnapshotResult> {
    return requestAPI<ISnapshotResult>(
      `runtimes/${encodeURIComponent(kernelId)}/snapshot`,
      { method: 'POST', body: JSON.stringify(path ? { path } : {}) },
      this.serverSettings
    );
  }

  /** The host's GPUs and who holds each (`GET /nj/api/gpus`). */
  gpus(): Promise<IGpuInventory> {
    return requestAPI<IGpuInventory>('gpus', {}, this.serverSettings);
  }

  /**
   * Ask for GPUs for a kernel's runtime (0, a count, or device UUIDs): the server writes it
   * into the notebook's pin and restarts the runtime; a `ResponseError` says why not.
   */
  chooseGpus(kernelId: string, gpus: number | string[]): Promise<IGpuChoice> {
    return requestAPI<IGpuChoice>(
      `runtimes/${encodeURIComponent(kernelId)}/gpus`,
      { method: 'POST', body: JSON.stringify({ gpus }) },
      this.serverSettings
    );
  }
}
