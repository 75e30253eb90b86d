import { isSlug, notebookTitle, slugify } from '../format';

describe('publish helpers', () => {
  it('makes slugs the server accepts from any title', () => {
    expect(slugify('Rain in Köln, 2026!')).toBe('rain-in-koln-2026');
    expect(slugify('   ')).toBe('notebook');
    expect(slugify('---')).toBe('notebook');
    const long = slugify('a'.repeat(63) + ' b');
    expect(long.length).toBeLessThanOrEqual(64);
    expect(isSlug(long)).toBe(true);
    expect(isSlug(slugify('Ünïcödé ☂ title'))).toBe(true);
  });

  it('refuses slugs that would not survive a URL', () => {
    expect(isSlug('ok-slug-1')).toBe(true);
    expect(isSlug('Has Spaces')).toBe(false);
    expect(isSlug('-edge')).toBe(false);
    expect(isSlug('../up')).toBe(false);
    expect(isSlug('')).toBe(false);
  });

  it('reads the title as the server does', () => {
    expect(notebookTitle({ metadata: { title: ' Given ' } }, 'x.ipynb')).toBe(
      'Given'
    );
    expect(
      notebookTitle(
        {
          cells: [
            { cell_type: 'code', source: '# not a heading' },
            { cell_type: 'markdown', source: ['Intro\n', '## The Title ##\n'] }
          ]
        },
        'x.ipynb'
      )
    ).toBe('The Title');
    expect(notebookTitle({ cells: [] }, 'dir/My Study.ipynb')).toBe('My Study');
  });
});
