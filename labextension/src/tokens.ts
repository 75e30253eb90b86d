/**
 * Shared types and tokens of jupyter-nj. This module has no side effects.
 */
import { Token } from '@lumino/coreutils';
import type { ISignal } from '@lumino/signaling';

/**
 * One backend as `GET /nj/api/status` reports it.
 */
export interface IBackendStatus {
  /** Short machine name: `docker`, `vault`, `history`, `collaboration`. */
  name: string;
  /** Human label, e.g. "Docker engine". */
  label: string;
  /** Whether the backend is usable right now. */
  live: boolean;
  /** What the server found, in one line. */
  detail: string;
  /** What to do when the backend is not live; empty when there is nothing to do. */
  hint: string;
  /** Extra machine-readable facts (versions, paths). */
  facts: Record<string, unknown>;
}

/**
 * The whole status report.
 */
export interface INJStatus {
  /** jupyter-nj version on the server. */
  version: string;
  /** Every backend, in a stable order. */
  backends: IBackendStatus[];
}

/**
 * The status model: the latest report and a signal when it changes.
 */
export interface INJStatusModel {
  /** The latest report, or null before the first answer. */
  readonly status: INJStatus | null;
  /** The last error talking to the server, or null. */
  readonly error: string | null;
  /** Emitted after every refresh. */
  readonly changed: ISignal<INJStatusModel, void>;
  /** Ask the server again now. */
  refresh(): Promise<void>;
}

/**
 * The status model token, for other jupyter-nj plugins that need to know which backends are live.
 */
export const INJStatusModel = new Token<INJStatusModel>(
  'jupyter-nj:INJStatusModel',
  'Which jupyter-nj backends are live.'
);

/**
 * Command ids.
 */
export namespace CommandIDs {
  /** Open the status panel. */
  export const showStatus = 'jupyter-nj:show-status';
  /** Refresh the status now. */
  export const refreshStatus = 'jupyter-nj:refresh-status';
}
