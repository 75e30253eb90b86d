import { ISignal, Signal } from '@lumino/signaling';

import { INJStatus, INJStatusModel } from '../tokens';
import { type ITrans, untranslated } from '../translation';

/**
 * Fetches a status report; injected so the model can be tested without a server.
 */
export type StatusFetcher = () => Promise<INJStatus>;

/**
 * Keeps the latest `GET /nj/api/status` report and refreshes it on a timer.
 */
export class StatusModel implements INJStatusModel {
  constructor(fetcher: StatusFetcher) {
    this._fetcher = fetcher;
  }

  /** The latest report, or null before the first answer. */
  get status(): INJStatus | null {
    return this._status;
  }

  /** The last error, or null when the last refresh worked. */
  get error(): string | null {
    return this._error;
  }

  /** Emitted after every refresh, successful or not. */
  get changed(): ISignal<INJStatusModel, void> {
    return this._changed;
  }

  /** Ask the server again now. */
  async refresh(): Promise<void> {
    try {
      this._status = await this._fetcher();
      this._error = null;
    } catch (error) {
      this._error = (error as Error).message ?? String(error);
    }
    this._changed.emit();
  }

  /** Refresh every `seconds` seconds until disposed (or until the interval changes). */
  startPolling(seconds: number): void {
    this.stopPolling();
    this._timer = setInterval(() => void this.refresh(), seconds * 1000);
  }

  /** Stop the timer. */
  stopPolling(): void {
    if (this._timer !== null) {
      clearInterval(this._timer);
      this._timer = null;
    }
  }

  /** Whether the model has been disposed. */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Stop polling and disconnect listeners. */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this.stopPolling();
    Signal.clearData(this);
  }

  private _fetcher: StatusFetcher;
  private _status: INJStatus | null = null;
  private _error: string | null = null;
  private _timer: ReturnType<typeof setInterval> | null = null;
  private _isDisposed = false;
  private _changed = new Signal<INJStatusModel, void>(this);
}

/**
 * The one-line summary shown in the status bar, e.g. `nj 0.1.0 · 3/4 live`.
 */
export function summarize(
  status: INJStatus | null,
  error: string | null,
  trans: ITrans = untranslated
): string {
  if (error !== null && status === null) {
    return trans.__('nj: server unreachable');
  }
  if (status === null) {
    return 'nj …';
  }
  const live = status.backends.filter(b => b.live).length;
  return trans.__(
    'nj %1 · %2/%3 live',
    status.version,
    live,
    status.backends.length
  );
}

/**
 * The tooltip: one line per backend.
 */
export function describe(
  status: INJStatus | null,
  trans: ITrans = untranslated
): string {
  if (status === null) {
    return trans.__('jupyter-nj: waiting for the server');
  }
  return [
    `jupyter-nj ${status.version}`,
    ...status.backends.map(b => `${b.live ? '●' : '○'} ${b.label}: ${b.detail}`)
  ].join('\n');
}
