import {
  defaultImportTarget,
  dispositionFilename,
  EXPORT_FORMATS,
  formatLabel,
  formatOfLabel,
  isExportFormat,
  isImportable,
  sharingEndpoint
} from '../format';

describe('sharingEndpoint', () => {
  it('encodes each path segment and drops the drive prefix', () => {
    expect(sharingEndpoint('import', 'RTC:a b/c#d.md')).toBe(
      'import/a%20b/c%23d.md'
    );
  });

  it('adds only the query values that are set', () => {
    expect(
      sharingEndpoint('export', 'nb.ipynb', {
        format: 'py',
        version: null
      })
    ).toBe('export/nb.ipynb?format=py');
    expect(
      sharingEndpoint('export', 'dir/nb.ipynb', {
        format: 'md',
        version: 'abc&1'
      })
    ).toBe('export/dir/nb.ipynb?format=md&version=abc%261');
  });
});

describe('formats', () => {
  it('lists every format the server exports, each with a label that names it back', () => {
    expect(EXPORT_FORMATS).toEqual(['md', 'myst', 'rmd', 'py']);
    for (const format of EXPORT_FORMATS) {
      expect(formatOfLabel(formatLabel(format))).toBe(format);
    }
    expect(formatOfLabel('Word')).toBeNull();
    expect(formatOfLabel(null)).toBeNull();
  });

  it('translates the labels through the bundle it is given', () => {
    const shout = { __: (msgid: string) => msgid.toUpperCase() };
    expect(formatLabel('rmd', shout)).toBe('R MARKDOWN');
    expect(formatOfLabel('R MARKDOWN', shout)).toBe('rmd');
  });

  it('tells export formats from other strings', () => {
    expect(isExportFormat('myst')).toBe(true);
    expect(isExportFormat('docx')).toBe(false);
    expect(isExportFormat(undefined)).toBe(false);
  });
});

describe('isImportable', () => {
  it('accepts Markdown, R Markdown and Python files whatever the case of the suffix', () => {
    for (const path of ['a.md', 'dir/b.Rmd', 'c.RMD', 'd.py', 'e.markdown']) {
      expect(isImportable(path)).toBe(true);
    }
  });

  it('refuses notebooks, other files, folders-like names and dot files', () => {
    for (const path of ['a.ipynb', 'b.txt', 'md', '.md', 'dir.md/file']) {
      expect(isImportable(path)).toBe(false);
    }
  });
});

describe('dispositionFilename', () => {
  it('prefers the UTF-8 name, then the plain one, then the fallback', () => {
    expect(
      dispositionFilename(
        'attachment; filename="caf?.md"; filename*=UTF-8\'\'caf%C3%A9.md',
        'x'
      )
    ).toBe('café.md');
    expect(dispositionFilename('attachment; filename="nb.py"', 'x')).toBe(
      'nb.py'
    );
    expect(dispositionFilename(null, 'fallback.md')).toBe('fallback.md');
    expect(
      dispositionFilename("attachment; filename*=UTF-8''%E0%A4%A", 'f.md')
    ).toBe('f.md');
  });
});

describe('defaultImportTarget', () => {
  it('keeps the folder and stem and ends in .ipynb', () => {
    expect(defaultImportTarget('dir/notes.md')).toBe('dir/notes.ipynb');
    expect(defaultImportTarget('a.b/script.py')).toBe('a.b/script.ipynb');
    expect(defaultImportTarget('dir.x/noext')).toBe('dir.x/noext.ipynb');
  });
});
