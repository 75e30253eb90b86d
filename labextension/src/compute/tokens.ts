/**
 * Types of the Compute pillar, as `/nj/api/compute` and `/nj/api/runs` send them, and its
 * command ids. This module has no side effects, so pure helpers and their unit tests can
 * import it.
 */

/**
 * A runtime as a notebook declares it in `metadata.nj.runtimes.<name>` (the pin format).
 */
export interface IDeclaredRuntime {
  /** Environment name. */
  environment: string;
  /** Full version ID; absent until the runtime's first start pins it. */
  version?: string;
  /** `local` or `docker`; absent: the backend the environment's kernelspec starts. */
  backend?: string;
}

/**
 * What a notebook's runtime is doing: `not started`, `starting`, `idle`, `busy`, `dead`
 * (or whatever else the kernel manager reports, shown as is).
 */
export type RuntimeState = string;

/**
 * One runtime of a notebook, from `GET /nj/api/compute/{kernel_id}/runtimes`.
 */
export interface IRuntimeStatus {
  /** The runtime's name in the notebook (`main` is the notebook's own kernel). */
  name: string;
  /** Environment name, when declared or running. */
  environment?: string;
  /** The version it runs or is pinned to. */
  version?: string | null;
  /** Declared backend. */
  backend?: string;
  /** The kernel's language, once it runs. */
  language?: string;
  /** The kernel running it, or null. */
  kernel_id: string | null;
  /** Its state. */
  state: RuntimeState;
}

/**
 * The answer of `GET /nj/api/compute/{kernel_id}/runtimes`.
 */
export interface INotebookRuntimes {
  /** The notebook's API path, or null when the kernel has no notebook session. */
  notebook: string | null;
  /** The notebook's own kernel. */
  kernel_id: string;
  /** `main` first, then the others by name. */
  runtimes: IRuntimeStatus[];
}

/**
 * What can be done to one runtime.
 */
export type RuntimeAction = 'start' | 'restart' | 'interrupt' | 'stop';

/**
 * A headless run, as `POST /nj/api/runs` and `GET /nj/api/runs/{id}` report it.
 */
export interface IRun {
  /** The run's id. */
  id: string;
  /** The notebook run. */
  path: string;
  /** Where the executed notebook is saved. */
  output: string;
  /** The parameters injected after the `parameters` cell. */
  parameters: Record<string, unknown>;
  /** `queued`, `running`, `succeeded` or `failed`. */
  state: string;
  /** Code cells to run. */
  cells: number;
  /** Code cells run so far. */
  done: number;
  /** Index of the cell running (or failed), or null. */
  cell: number | null;
  /** The runtime running it, or null. */
  runtime: string | null;
  /** Why it failed: `{message, ...}`, or null. */
  error: { message?: string; [key: string]: unknown } | null;
  /** The version of `output` the run saved, or null. */
  version: string | null;
}

/**
 * What a run's progress event (`https://events.jupyter.org/jupyter_nj/runs/v1`) carries.
 */
export interface IRunEvent {
  /** `run-started`, `cell-started`, `cell-finished` or `run-finished`. */
  action: string;
  /** The run's id. */
  run: string;
  /** The notebook run. */
  path: string;
  /** Where the result is saved. */
  output?: string;
  /** The run's state. */
  state: string;
  /** Code cells in the notebook. */
  cells?: number;
  /** Code cells run so far. */
  done?: number;
  /** Index of the cell running. */
  cell?: number;
  /** The runtime running it. */
  runtime?: string;
  /** Why the run failed. */
  message?: string;
}

/**
 * Command ids of the Compute pillar.
 */
export namespace ComputeCommandIDs {
  /** Run the selected cells on the runtime named `name` (`main`: the notebook's kernel). */
  export const setCellRuntime = 'jupyter-nj:set-cell-runtime';
  /** Declare a new runtime (dialog) and run the selected cells on it. */
  export const addRuntime = 'jupyter-nj:add-runtime';
  /** Open the runtime menu of the active cell. */
  export const cellRuntimeMenu = 'jupyter-nj:cell-runtime-menu';
  /** Open the list of the notebook's runtimes (state, restart, interrupt, stop). */
  export const runtimeList = 'jupyter-nj:runtime-list';
  /** Run the current notebook headless on the server, with progress and its result. */
  export const runInBackground = 'jupyter-nj:run-in-background';
}
