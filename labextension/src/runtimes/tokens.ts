/**
 * Types of the Runtimes pillar, as `/nj/api/environments` and `/nj/api/runtimes` send them.
 * This module has no side effects, so pure helpers and their unit tests can import it.
 */

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
