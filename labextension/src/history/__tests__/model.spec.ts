import { HistoryModel } from '../model';
import type { IHistoryClient, IHistoryPage, IHistoryVersion } from '../tokens';

/**
 * An in-memory history that pages exactly as the REST contract says: newest first, `limit`
 * versions per page, `next` is the id of the last version on the page.
 */
class FakeHistory implements IHistoryClient {
  versions: IHistoryVersion[] = [];
  calls: { path: string; limit: number; before: string | null }[] = [];
  fail: string | null = null;

  add(count: number) {
    for (let i = 0; i < count; i++) {
      const n = this.versions.length;
      this.versions.unshift({
        id: `v${n}`,
        created: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
        authors: ['alice'],
        message: 'save',
        label: null,
        checkpoint: false,
        size: n,
        path: 'nb.ipynb'
      });
    }
  }

  async list(path: string, limit: number, before: string | null = null) {
    this.calls.push({ path, limit, before });
    if (this.fail) {
      throw new Error(this.fail);
    }
    const start =
      before === null ? 0 : this.versions.findIndex(v => v.id === before) + 1;
    const versions = this.versions.slice(start, start + limit);
    const page: IHistoryPage = {
      path,
      file_id: 'f1',
      versions,
      next:
        start + limit < this.versions.length
          ? versions[versions.length - 1].id
          : null
    };
    return page;
  }

  version(): Promise<any> {
    throw new Error('not used');
  }
  diff(): Promise<any> {
    throw new Error('not used');
  }
  restore(): Promise<any> {
    throw new Error('not used');
  }
  label(): Promise<any> {
    throw new Error('not used');
  }
}

describe('HistoryModel', () => {
  it("keeps the authors' display names, and a refresh shows a changed one", async () => {
    const server = new FakeHistory();
    server.add(2);
    server.versions[0].author_display_names = ['Alice A.'];
    const model = new HistoryModel(server, { pageSize: 10 });
    await model.setPath('nb.ipynb');
    expect(model.versions[0].authors).toEqual(['alice']);
    expect(model.versions[0].author_display_names).toEqual(['Alice A.']);
    expect(model.versions[1].author_display_names).toBeUndefined();
    server.versions[0] = {
      ...server.versions[0],
      author_display_names: ['Alice Adams']
    };
    await model.refresh();
    expect(model.versions[0].author_display_names).toEqual(['Alice Adams']);
    model.dispose();
  });

  it('loads the first page and then older pages on demand', async () => {
    const server = new FakeHistory();
    server.add(7);
    const model = new HistoryModel(server, { pageSize: 3 });
    await model.setPath('nb.ipynb');
    expect(model.versions.map(v => v.id)).toEqual(['v6', 'v5', 'v4']);
    expect(model.hasMore).toBe(true);
    await model.loadMore();
    await model.loadMore();
    expect(model.versions.map(v => v.id)).toEqual([
      'v6',
      'v5',
      'v4',
      'v3',
      'v2',
      'v1',
      'v0'
    ]);
    expect(model.hasMore).toBe(false);
    expect(server.calls.map(c => c.before)).toEqual([null, 'v4', 'v1']);
    model.dispose();
  });

  it('starts over with pages of the new size when the page size changes', async () => {
    const server = new FakeHistory();
    server.add(5);
    const model = new HistoryModel(server, { pageSize: 10 });
    await model.setPath('nb.ipynb');
    expect(model.versions).toHaveLength(5);
    expect(model.hasMore).toBe(false);
    model.pageSize = 2;
    await model.refresh();
    expect(model.versions.map(v => v.id)).toEqual(['v4', 'v3']);
    expect(model.hasMore).toBe(true);
    model.pageSize = 0;
    expect(model.pageSize).toBe(1);
    model.dispose();
  });

  it('keeps the older pages when a refresh finds new versions', async () => {
    const server = new FakeHistory();
    server.add(6);
    const model = new HistoryModel(server, { pageSize: 3 });
    await model.setPath('nb.ipynb');
    await model.loadMore();
    server.add(1);
    await model.refresh();
    expect(model.versions.map(v => v.id)).toEqual([
      'v6',
      'v5',
      'v4',
      'v3',
      'v2',
      'v1',
      'v0'
    ]);
    expect(model.hasMore).toBe(false);
    model.dispose();
  });

  it('starts over when too many versions arrived to connect the pages', async () => {
    const server = new FakeHistory();
    server.add(4);
    const model = new HistoryModel(server, { pageSize: 2 });
    await model.setPath('nb.ipynb');
    server.add(5);
    await model.refresh();
    expect(model.versions.map(v => v.id)).toEqual(['v8', 'v7']);
    expect(model.hasMore).toBe(true);
    await model.loadMore();
    expect(model.versions.map(v => v.id)).toEqual(['v8', 'v7', 'v6', 'v5']);
    model.dispose();
  });

  it('shows an empty list for a file without history, and errors as text', async () => {
    const server = new FakeHistory();
    const model = new HistoryModel(server);
    await model.setPath('new.ipynb');
    expect(model.loaded).toBe(true);
    expect(model.versions).toEqual([]);
    expect(model.error).toBeNull();
    server.fail = 'No such file: gone.ipynb';
    await model.setPath('gone.ipynb');
    expect(model.error).toBe('No such file: gone.ipynb');
    model.dispose();
  });

  it('drops answers for a file that is no longer current', async () => {
    const server = new FakeHistory();
    server.add(2);
    const empty = new FakeHistory();
    let release: () => void = () => undefined;
    class SlowHistory extends FakeHistory {
      list(path: string, limit: number, before: string | null = null) {
        if (path !== 'slow.ipynb') {
          // The other file has no history yet.
          return empty.list(path, limit, before);
        }
        return new Promise<IHistoryPage>(resolve => {
          release = () => resolve(server.list(path, limit, before));
        });
      }
    }
    const slow = new SlowHistory();
    const model = new HistoryModel(slow);
    const first = model.setPath('slow.ipynb');
    await model.setPath('fast.ipynb');
    release();
    await first;
    expect(model.path).toBe('fast.ipynb');
    expect(model.loaded).toBe(true);
    expect(model.versions).toEqual([]);
    expect(server.calls.map(c => c.path)).toEqual(['slow.ipynb']);
    expect(empty.calls.map(c => c.path)).toEqual(['fast.ipynb']);
    model.dispose();
  });

  it('selects at most two versions and orders the pair older first', async () => {
    const server = new FakeHistory();
    server.add(4);
    const model = new HistoryModel(server);
    await model.setPath('nb.ipynb');
    expect(model.selectedPair()).toBeNull();
    model.toggleSelected('v3');
    model.toggleSelected('v1');
    expect(model.selectedPair()).toEqual({ base: 'v1', remote: 'v3' });
    model.toggleSelected('v0');
    expect(model.selection).toEqual(['v1', 'v0']);
    expect(model.selectedPair()).toEqual({ base: 'v0', remote: 'v1' });
    model.toggleSelected('v1');
    expect(model.selection).toEqual(['v0']);
    model.dispose();
  });

  it('polls until a new version shows up after a save', async () => {
    const server = new FakeHistory();
    server.add(1);
    const model = new HistoryModel(server);
    await model.setPath('nb.ipynb');
    const head = model.head;
    setTimeout(() => server.add(1), 15);
    const found = await model.refreshUntilNew(head, [5, 5, 5, 5, 5, 5, 5, 5]);
    expect(found).toBe(true);
    expect(model.head).toBe('v1');
    const again = await model.refreshUntilNew(model.head, [1, 1]);
    expect(again).toBe(false);
    model.dispose();
  });

  it('replaces a relabelled version in place', async () => {
    const server = new FakeHistory();
    server.add(3);
    const model = new HistoryModel(server);
    await model.setPath('nb.ipynb');
    let emitted = 0;
    model.changed.connect(() => (emitted += 1));
    model.updateVersion({ ...model.versions[1], label: 'good' });
    expect(model.versions.map(v => v.label)).toEqual([null, 'good', null]);
    expect(emitted).toBe(1);
    model.dispose();
  });
});
