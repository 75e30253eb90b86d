/**
 * Types of the Runtimes pillar, as `/nj/api/environments` and `/nj/api/runtimes` send them, and
 * the runtime actions' token. This module has no side effects, so pure helpers and their unit
 * tests can import it.
 */
import { Token } from '@lumino/coreutils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { ISignal } from '@lumino/signaling';

/**
 * One immutable, built version of an environment (a catalog record).
 */
export interface IEnvironmentVersion {
  /** Environment name, e.g. `python`. */
  name: string;
  /** Content ID: `sha256:<hex>` (local: hash of the lock and recipe; docker: the image ID). */
  version: string;
  /** The first 12 hex digits of the version, for display. */
  short: string;
  /** Where it runs: `local` (a uv venv) or `docker` (an image). */
  backend: string;
  /** What the definition asked for (display name, python, kernel command, apt packages). */
  recipe: Record<string, unknown>;
  /** SHA-256 of the lock file the version was made from. */
  lock_sha256: string;
  /** When the version was recorded (ISO 8601). */
  created: string;
  /** The version it was saved from (`Save environment`), or null for a build. */
  parent: string | null;
  /** The image reference of a docker version, else null. */
  image: string | null;
  /** What changed since the parent: install commands and package differences. */
  changes: string[];
}

/**
 * One environment as `GET /nj/api/environments` lists it.
 */
export interface IEnvironment {
  /** Environment name (lower case, digits, dashes). */
  name: string;
  /** Human name from the definition. */
  display_name: string;
  /** One-line description from the definition. */
  description: string;
  /** `ok`, `missing`, or what is wrong with the definition. */
  definition: string;
  /** The version a local build of the current definition would make, or null. */
  current_local_version: string | null;
  /** Why the local backend cannot run it on this server ('' when it can; older servers: absent). */
  local_problem?: string;
  /** Built versions, newest first. */
  versions: IEnvironmentVersion[];
}

/**
 * What a kernel runs, from `GET /nj/api/runtimes/{kernel_id}`.
 */
export interface IRuntimeInfo {
  /** Environment name. */
  environment: string;
  /** `local` or `docker`. */
  backend: string;
  /** The version running, or null while the kernel is still starting. */
  version: IEnvironmentVersion | null;
  /** What the user should know although it runs (a notebook folder it cannot write). */
  warnings?: string[];
  /** Which runtime of its notebook this is (`main`, or a name of `metadata.nj.runtimes`). */
  runtime?: string;
  /** Why the last start failed ('' when it did not). */
  start_error?: string;
  /** The GPUs the runtime asks for and holds (older servers: absent). */
  gpus?: IRuntimeGpus;
}

/**
 * A runtime's GPUs, in `GET /nj/api/runtimes/{kernel_id}`.
 */
export interface IRuntimeGpus {
  /** What the pin asks for: a count, device UUIDs, or `all`. */
  requested: number | string[] | string;
  /** The UUIDs of the devices it holds now. */
  allocated: string[];
  /** Container runtimes: the device requests the engine recorded. */
  device_requests?: Record<string, unknown>[];
}

/**
 * Who holds a GPU.
 */
export interface IGpuHolder {
  /** The runtime's kernel. */
  kernel_id: string;
  /** API path of its notebook. */
  notebook: string;
  /** Which runtime of the notebook. */
  runtime: string;
  /** Who asked for it. */
  user: string;
}

/**
 * One GPU of the host, from `GET /nj/api/gpus`.
 */
export interface IGpu {
  /** NVML's UUID (`GPU-…`). */
  uuid: string;
  /** NVML's index. */
  index: number;
  /** Model name. */
  name: string;
  /** Memory in bytes. */
  memory_total: number;
  /** Memory in use, in bytes. */
  memory_used: number;
  /** Utilization in percent, or null when NVML cannot read it. */
  utilization: number | null;
  /** The runtime holding it, or null when it is free. */
  allocated_to: IGpuHolder | null;
}

/**
 * The host's GPUs, from `GET /nj/api/gpus`.
 */
export interface IGpuInventory {
  /** Whether the host has usable NVIDIA GPUs. */
  available: boolean;
  /** Why not, when it has none. */
  reason: string;
  /** What to do about it. */
  hint?: string;
  /** The GPUs. */
  gpus: IGpu[];
}

/**
 * The answer of `POST /nj/api/runtimes/{kernel_id}/gpus`.
 */
export interface IGpuChoice {
  /** The runtime restarted. */
  runtime: string;
  /** The devices it holds now. */
  gpus: string[];
  /** What happened, for the user. */
  message: string;
}

/**
 * A notebook's pin, `metadata.nj.runtimes.main`.
 */
export interface IRuntimePin {
  /** Environment name. */
  environment: string;
  /** Full version ID. */
  version: string;
  /** Backend of the pinned version. */
  backend: string;
}

/**
 * The answer of `POST /nj/api/runtimes/{kernel_id}/snapshot` ("Save environment").
 */
export interface ISnapshotResult {
  /** The new version. */
  version: IEnvironmentVersion;
  /** The notebook that was re-pinned, or null. */
  path: string | null;
  /** The new pin, or null when no notebook was re-pinned. */
  pin: IRuntimePin | null;
  /** A sentence for the user. */
  message: string;
}

/**
 * A build started (`error` null, name in `building`), finished, or failed (`error` set).
 */
export interface IBuildEvent {
  /** Environment name. */
  name: string;
  /** `local` or `docker`. */
  backend: string;
  /** The server's message when the build failed, else null. */
  error: string | null;
  /** The version a finished build made (absent while building and on failure). */
  version?: string;
  /** How long the finished build took, in seconds. */
  seconds?: number;
}

/**
 * Lines a running build printed since the last ones (one `build-log` event).
 */
export interface IBuildLog {
  /** Environment name. */
  name: string;
  /** `local` or `docker`. */
  backend: string;
  /** The lines, oldest first. */
  lines: string[];
}

/**
 * What can be done to a notebook's runtime, shared by the toolbar control, the Environments
 * panel and the commands: pin a version and restart on it, save the runtime as a new version,
 * build environments. Other plugins use it to follow builds or switch a notebook's runtime.
 */
export interface IRuntimeActions {
  /** Emitted after anything that may change what a notebook runs or which versions exist. */
  readonly changed: ISignal<IRuntimeActions, void>;
  /** The environment names whose build is running now (here or elsewhere on the server). */
  readonly building: ReadonlySet<string>;
  /** Emitted when a build starts or ends. */
  readonly buildChanged: ISignal<IRuntimeActions, IBuildEvent>;
  /** Emitted with the lines a running build's steps print. */
  readonly buildLog: ISignal<IRuntimeActions, IBuildLog>;
  /** Emitted with the panel whose unsaved installs changed. */
  readonly unsavedChanged: ISignal<IRuntimeActions, NotebookPanel>;
  /** The install commands run in the panel's runtime since it started or was last saved. */
  unsavedInstalls(panel: NotebookPanel): string[];
  /** Record the code a runtime executed; install commands make the runtime "unsaved". */
  noteExecuted(panel: NotebookPanel, code: string): void;
  /** Forget the panel's unsaved installs (saved, or gone with a restarted runtime). */
  clearUnsaved(panel: NotebookPanel): void;
  /** The environments and their versions, as the server lists them now. */
  environments(): Promise<IEnvironment[]>;
  /** What the panel's kernel runs; null when it runs no jupyter-nj runtime. */
  runtimeOf(panel: NotebookPanel): Promise<IRuntimeInfo | null>;
  /** Pin the notebook to `version` and start its kernel on it. */
  useVersion(panel: NotebookPanel, version: IEnvironmentVersion): Promise<void>;
  /** Save the runtime as a new version and re-pin the notebook to it. */
  saveEnvironment(panel: NotebookPanel): Promise<ISnapshotResult | null>;
  /** Build the current definition of `name` on `backend`. */
  build(name: string, backend: string): Promise<IEnvironmentVersion>;
  /** Open the runtime menu of a notebook under `anchor`. */
  openMenu(panel: NotebookPanel, anchor: HTMLElement): Promise<void>;
}

/**
 * The runtime actions token, provided by the Runtimes plugin.
 */
export const IRuntimeActions = new Token<IRuntimeActions>(
  'jupyter-nj:IRuntimeActions',
  'Pin, switch, save and build the environments notebooks run in.'
);

/**
 * Command ids of the Runtimes pillar.
 */
export namespace RuntimeCommandIDs {
  /** Open the Environments side panel. */
  export const openEnvironments = 'jupyter-nj:open-environments';
  /** Save the current notebook's runtime as a new environment version. */
  export const saveEnvironment = 'jupyter-nj:save-environment';
  /** Open the runtime menu of the current notebook. */
  export const pickRuntime = 'jupyter-nj:pick-runtime';
}
