import { ISignal, Signal } from '@lumino/signaling';

import type { IHistoryClient, IHistoryModel, IHistoryVersion } from './tokens';

/**
 * The versions of one file, page by page, and the two versions the user selected to compare.
 *
 * The client is injected so the model is tested without a server. Answers that arrive after the
 * file changed (the user switched documents while a request was in flight) are dropped.
 */
export class HistoryModel implements IHistoryModel {
  constructor(client: IHistoryClient, options: HistoryModel.IOptions = {}) {
    this._client = client;
    this.pageSize = options.pageSize ?? 50;
  }

  /** Versions asked for per page (the server's `limit`). */
  get pageSize(): number {
    return this._pageSize;
  }
  set pageSize(value: number) {
    const size = Math.max(1, Math.min(1000, Math.floor(value)));
    if (size === this._pageSize) {
      return;
    }
    this._pageSize = size;
    // The pages loaded so far were cut at the old size: start over at the next refresh.
    this._generation += 1;
    this._versions = [];
    this._next = null;
    this._loaded = false;
    this._changed.emit();
  }

  /** The API path whose history is shown (no drive prefix), or null when no file is current. */
  get path(): string | null {
    return this._path;
  }

  /** The versions loaded so far, newest first. */
  get versions(): readonly IHistoryVersion[] {
    return this._versions;
  }

  /** Whether older versions remain on the server. */
  get hasMore(): boolean {
    return this._next !== null;
  }

  /** Whether a request is in flight. */
  get loading(): boolean {
    return this._pending > 0;
  }

  /** Whether the first page of the current file has been loaded. */
  get loaded(): boolean {
    return this._loaded;
  }

  /** The last error (the server's message), or null when the last request worked. */
  get error(): string | null {
    return this._error;
  }

  /** The selected version ids, in the order the user picked them (at most two). */
  get selection(): readonly string[] {
    return this._selection;
  }

  /** Emitted whenever anything above changes. */
  get changed(): ISignal<HistoryModel, void> {
    return this._changed;
  }

  /** Whether the model has been disposed. */
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Show another file (an API path, or null for none). Loads its first page when it differs from
   * the current one.
   */
  async setPath(path: string | null): Promise<void> {
    if (path === this._path) {
      return;
    }
    this._path = path;
    this._generation += 1;
    this._versions = [];
    this._next = null;
    this._loaded = false;
    this._error = null;
    this._selection = [];
    this._changed.emit();
    if (path !== null) {
      await this.refresh();
    }
  }

  /**
   * Load the newest page again, keeping the older pages already loaded when they still follow it.
   */
  async refresh(): Promise<void> {
    const path = this._path;
    if (path === null) {
      return;
    }
    const generation = this._generation;
    await this._request(generation, async () => {
      const page = await this._client.list(path, this._pageSize);
      if (generation !== this._generation) {
        return;
      }
      const last = page.versions[page.versions.length - 1];
      const overlap = last
        ? this._versions.findIndex(v => v.id === last.id)
        : -1;
      if (overlap >= 0 && page.next !== null) {
        // The older pages loaded before still continue this page: keep them.
        this._versions = [
          ...page.versions,
          ...this._versions.slice(overlap + 1)
        ];
      } else {
        this._versions = page.versions.slice();
        this._next = page.next;
      }
      const ids = new Set(this._versions.map(v => v.id));
      this._selection = this._selection.filter(id => ids.has(id));
      this._loaded = true;
    });
  }

  /** Load the next (older) page; does nothing when there is none or a request is in flight. */
  async loadMore(): Promise<void> {
    const path = this._path;
    const cursor = this._next;
    if (path === null || cursor === null || this.loading) {
      return;
    }
    const generation = this._generation;
    await this._request(generation, async () => {
      const page = await this._client.list(path, this._pageSize, cursor);
      if (generation !== this._generation) {
        return;
      }
      const ids = new Set(this._versions.map(v => v.id));
      this._versions = [
        ...this._versions,
        ...page.versions.filter(v => !ids.has(v.id))
      ];
      this._next = page.next;
    });
  }

  /**
   * Refresh until the newest version differs from `previousHead` (a version is recorded a few
   * seconds after a save), waiting `delaysMs` between tries. Resolves whether it changed.
   */
  async refreshUntilNew(
    previousHead: string | null,
    delaysMs: number[] = [1000, 2000, 3000, 4000, 5000, 8000]
  ): Promise<boolean> {
    const generation = this._generation;
    for (const delay of delaysMs) {
      await new Promise(resolve => setTimeout(resolve, delay));
      if (this._isDisposed || generation !== this._generation) {
        return false;
      }
      await this.refresh();
      if (this.head !== previousHead && this.head !== null) {
        return true;
      }
    }
    return false;
  }

  /** The newest version's id, or null. */
  get head(): string | null {
    return this._versions.length > 0 ? this._versions[0].id : null;
  }

  /** Select or unselect a version for comparison; a third selection drops the oldest pick. */
  toggleSelected(id: string): void {
    if (this._selection.includes(id)) {
      this._selection = this._selection.filter(s => s !== id);
    } else {
      this._selection = [...this._selection, id].slice(-2);
    }
    this._changed.emit();
  }

  /** Clear the selection. */
  clearSelection(): void {
    if (this._selection.length > 0) {
      this._selection = [];
      this._changed.emit();
    }
  }

  /**
   * The selected pair ordered as a diff reads, older version as base, or null unless two are
   * selected.
   */
  selectedPair(): { base: string; remote: string } | null {
    if (this._selection.length !== 2) {
      return null;
    }
    const [a, b] = this._selection;
    const indexA = this._versions.findIndex(v => v.id === a);
    const indexB = this._versions.findIndex(v => v.id === b);
    // Newest first: the larger index is the older version.
    return indexA > indexB ? { base: a, remote: b } : { base: b, remote: a };
  }

  /** Replace a version's record (after a label changed), keeping its place. */
  updateVersion(version: IHistoryVersion): void {
    const index = this._versions.findIndex(v => v.id === version.id);
    if (index >= 0) {
      this._versions = this._versions.slice();
      this._versions[index] = version;
      this._changed.emit();
    }
  }

  /** Disconnect listeners; pending answers are dropped. */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._generation += 1;
    Signal.clearData(this);
  }

  private async _request(
    generation: number,
    work: () => Promise<void>
  ): Promise<void> {
    this._pending += 1;
    this._changed.emit();
    try {
      await work();
      if (generation === this._generation) {
        this._error = null;
      }
    } catch (error) {
      if (generation === this._generation) {
        this._error = (error as Error).message ?? String(error);
      }
    } finally {
      this._pending -= 1;
      if (!this._isDisposed) {
        this._changed.emit();
      }
    }
  }

  private _client: IHistoryClient;
  private _pageSize = 50;
  private _path: string | null = null;
  private _versions: IHistoryVersion[] = [];
  private _next: string | null = null;
  private _loaded = false;
  private _error: string | null = null;
  private _selection: string[] = [];
  private _pending = 0;
  private _generation = 0;
  private _isDisposed = false;
  private _changed = new Signal<HistoryModel, void>(this);
}

/**
 * The HistoryModel's statics.
 */
export namespace HistoryModel {
  /**
   * Construction options.
   */
  export interface IOptions {
    /** Versions per page (the server's `limit`); 50 by default. */
    pageSize?: number;
  }
}
