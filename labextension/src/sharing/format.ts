/**
 * Pure helpers of the Sharing pillar: endpoints, formats and file names. No JupyterLab imports,
 * so they are unit-tested in node.
 */
import { apiPath } from '../paths';
import { type ITrans, untranslated } from '../translation';
import type { ExportFormat } from './tokens';

/**
 * The export formats, in the order a picker lists them.
 */
export const EXPORT_FORMATS: ExportFormat[] = ['md', 'myst', 'rmd', 'py'];

/**
 * The suffixes an import reads (lower case).
 */
export const IMPORT_SUFFIXES = ['.md', '.markdown', '.rmd', '.py'];

/**
 * What a format is called in a picker.
 */
export function formatLabel(
  format: ExportFormat,
  trans: ITrans = untranslated
): string {
  switch (format) {
    case 'md':
      return trans.__('Markdown (jupytext)');
    case 'myst':
      return trans.__('MyST Markdown');
    case 'rmd':
      return trans.__('R Markdown');
    case 'py':
      return trans.__('Python script (percent cells)');
  }
}

/**
 * The format a picker's label names, or null.
 */
export function formatOfLabel(
  label: string | null | undefined,
  trans: ITrans = untranslated
): ExportFormat | null {
  return (
    EXPORT_FORMATS.find(format => formatLabel(format, trans) === label) ?? null
  );
}

/**
 * Whether a string names an export format.
 */
export function isExportFormat(value: unknown): value is ExportFormat {
  return (
    typeof value === 'string' && EXPORT_FORMATS.includes(value as ExportFormat)
  );
}

/**
 * Whether a file can be imported as a notebook (by its suffix).
 */
export function isImportable(path: string): boolean {
  const name = path.split('/').pop() ?? '';
  const dot = name.lastIndexOf('.');
  return dot > 0 && IMPORT_SUFFIXES.includes(name.slice(dot).toLowerCase());
}

/**
 * `import/<path>` or `export/<path>?...`: a sharing endpoint under `/nj/api`.
 */
export function sharingEndpoint(
  kind: 'import' | 'export',
  path: string,
  query: Record<string, string | null | undefined> = {}
): string {
  const segments = apiPath(path)
    .split('/')
    .filter(segment => segment.length > 0)
    .map(segment => encodeURIComponent(segment));
  const params = Object.entries(query)
    .filter(
      ([, value]) => value !== undefined && value !== null && value !== ''
    )
    .map(
      ([key, value]) =>
        `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`
    );
  const endpoint = [kind, ...segments].join('/');
  return params.length > 0 ? `${endpoint}?${params.join('&')}` : endpoint;
}

/**
 * The file name in a Content-Disposition header (`filename*` first), or `fallback`.
 */
export function dispositionFilename(
  header: string | null | undefined,
  fallback: string
): string {
  if (!header) {
    return fallback;
  }
  const extended = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(header);
  if (extended) {
    try {
      return decodeURIComponent(extended[1].trim());
    } catch {
      // A malformed encoding: fall back to the plain name.
    }
  }
  const plain = /filename\s*=\s*"([^"]*)"/i.exec(header);
  return plain ? plain[1] : fallback;
}

/**
 * The notebook an import writes by default: the source's stem with `.ipynb`.
 */
export function defaultImportTarget(path: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return (dot > slash + 1 ? path.slice(0, dot) : path) + '.ipynb';
}
