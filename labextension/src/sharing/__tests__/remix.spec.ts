import {
  remixAttribution,
  remixAuthors,
  remixOf,
  remixTarget,
  sharingEndpoint
} from '../format';

const REMIX = {
  from: {
    path: 'work/analysis.ipynb',
    file_id: 'f-1',
    version: '1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d',
    authors: ['ann-7f3a', 'bob'],
    author_display_names: ['Ann Example', '']
  },
  at: '2026-12-03T10:00:00.000Z'
};

describe('remix helpers', () => {
  it('names the endpoint and the default target beside the original', () => {
    expect(sharingEndpoint('remix', 'RTC:a b/nb.ipynb')).toBe(
      'remix/a%20b/nb.ipynb'
    );
    expect(remixTarget('RTC:dir/nb.ipynb')).toBe('dir/nb-remix.ipynb');
  });

  it('reads metadata.nj.remix only when it is well formed', () => {
    expect(remixOf({ remix: REMIX })).toBe(REMIX);
    expect(remixOf({})).toBeNull();
    expect(remixOf(null)).toBeNull();
    expect(remixOf({ remix: { from: { path: 3 } } })).toBeNull();
  });

  it('says who wrote the original, display names first', () => {
    expect(remixAuthors(REMIX.from)).toBe('Ann Example, bob');
    expect(remixAuthors({ ...REMIX.from, authors: [] })).toBe('unknown');
    expect(remixAttribution(REMIX)).toBe(
      'Remixed from work/analysis.ipynb by Ann Example, bob at version 1a2b3c4d'
    );
  });
});
