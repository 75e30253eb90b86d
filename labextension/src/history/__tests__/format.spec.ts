import {
  authorNames,
  dayKey,
  diffSpec,
  formatAuthors,
  formatVersionAuthors,
  formatSize,
  groupByDay,
  historyEndpoint,
  shortId
} from '../format';
import { apiPath } from '../../paths';
import type { IHistoryVersion } from '../tokens';

function version(id: string, created: Date, label: string | null = null) {
  const v: IHistoryVersion = {
    id,
    created: created.toISOString(),
    authors: ['alice'],
    message: 'save',
    label,
    checkpoint: false,
    size: 10,
    path: 'nb.ipynb'
  };
  return v;
}

describe('apiPath', () => {
  it('removes the real-time drive prefix', () => {
    expect(apiPath('RTC:folder/nb.ipynb')).toBe('folder/nb.ipynb');
  });

  it('keeps a colon that is not a known drive', () => {
    expect(apiPath('notes:2024.md')).toBe('notes:2024.md');
  });

  it('only looks at the first segment', () => {
    expect(apiPath('a/RTC:b.ipynb')).toBe('a/RTC:b.ipynb');
  });

  it('drops leading and trailing slashes', () => {
    expect(apiPath('/a/b.txt/')).toBe('a/b.txt');
  });
});

describe('historyEndpoint', () => {
  it('escapes every segment and keeps the separators', () => {
    expect(historyEndpoint('RTC:my dir/ü #1?.ipynb')).toBe(
      'history/my%20dir/%C3%BC%20%231%3F.ipynb'
    );
  });

  it('appends the query parameters that have a value, in order', () => {
    expect(
      historyEndpoint('nb.ipynb', { limit: 50, before: null, x: undefined })
    ).toBe('history/nb.ipynb?limit=50');
    expect(
      historyEndpoint('nb.ipynb', {
        diff: diffSpec('abc', 'current'),
        ignore_outputs: 'true'
      })
    ).toBe('history/nb.ipynb?diff=abc..current&ignore_outputs=true');
  });

  it('escapes cursor values', () => {
    expect(historyEndpoint('a.txt', { before: 'x&y=z' })).toBe(
      'history/a.txt?before=x%26y%3Dz'
    );
  });
});

describe('groupByDay', () => {
  const now = new Date(2026, 10, 23, 18, 0, 0);

  it('groups consecutive versions by local day with friendly labels', () => {
    const versions = [
      version('a', new Date(2026, 10, 23, 17, 0)),
      version('b', new Date(2026, 10, 23, 9, 0)),
      version('c', new Date(2026, 10, 22, 23, 59)),
      version('d', new Date(2026, 10, 20, 12, 0))
    ];
    const days = groupByDay(versions, now, d => `day ${d.getDate()}`);
    expect(days.map(d => d.label)).toEqual(['Today', 'Yesterday', 'day 20']);
    expect(days.map(d => d.versions.map(v => v.id))).toEqual([
      ['a', 'b'],
      ['c'],
      ['d']
    ]);
    expect(days[2].key).toBe(dayKey(new Date(2026, 10, 20)));
  });

  it('returns no days for no versions', () => {
    expect(groupByDay([], now)).toEqual([]);
  });
});

describe('short labels', () => {
  it('formats sizes', () => {
    expect(formatSize(812)).toBe('812 B');
    expect(formatSize(12.3 * 1024)).toBe('12 KB');
    expect(formatSize(4.5 * 1024 * 1024)).toBe('4.5 MB');
  });

  it('formats authors', () => {
    expect(formatAuthors([])).toBe('unknown author');
    expect(formatAuthors(['a', 'b'])).toBe('a, b');
    expect(formatAuthors(['a', 'b', 'c', 'd'])).toBe('a, b +2');
    expect(
      formatAuthors(['90dfda8798a84e4cbc294c1962de2061', 'ada lovelace'])
    ).toBe('90dfda87, ada lovelace');
  });

  it('shortens ids but not "current"', () => {
    expect(shortId('0123456789abcdef')).toBe('0123456');
    expect(shortId('current')).toBe('current');
  });
});

describe('author display names', () => {
  const anon = '90dfda8798a84e4cbc294c1962de2061';

  it('shows the display name of each author, in the order of the usernames', () => {
    const v = {
      authors: [anon, 'bob'],
      author_display_names: ['Anonymous Io', 'Bob Builder']
    };
    expect(authorNames(v)).toEqual(['Anonymous Io', 'Bob Builder']);
    expect(formatVersionAuthors(v)).toBe('Anonymous Io, Bob Builder');
  });

  it('falls back to the username when the server sends no display names', () => {
    expect(formatVersionAuthors({ authors: [anon, 'ada lovelace'] })).toBe(
      '90dfda87, ada lovelace'
    );
  });

  it('falls back to the username for an empty or missing entry', () => {
    expect(
      authorNames({
        authors: [anon, 'bob', 'carol'],
        author_display_names: ['', '  ']
      })
    ).toEqual(['90dfda87', 'bob', 'carol']);
  });

  it('shortens an anonymous id the server sent as its own display name', () => {
    expect(
      formatVersionAuthors({ authors: [anon], author_display_names: [anon] })
    ).toBe('90dfda87');
  });

  it('keeps the short form for more than two authors', () => {
    expect(
      formatVersionAuthors({
        authors: ['a', 'b', 'c'],
        author_display_names: ['Ann', 'Ben', 'Cat']
      })
    ).toBe('Ann, Ben +1');
  });
});
