/**
 * Pure helpers of the Sharing pillar: endpoints, formats and file names. No JupyterLab imports,
 * so they are unit-tested in node.
 */
import { apiPath } from '../paths';
import { type ITrans, untranslated } from '../translation';
import type {
  ExportFormat,
  IPrincipals,
  IRemixMetadata,
  IRemixOrigin,
  ShareTarget
} from './tokens';

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
 * `import/<path>`, `export/<path>?...`, `remix/<path>` or `publish/<path>`: a sharing endpoint under
 * `/nj/api`.
 */
export function sharingEndpoint(
  kind: 'import' | 'export' | 'remix' | 'publish',
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

/**
 * The default name of a remix of `path`: `<stem>-remix.ipynb` beside it.
 */
export function remixTarget(path: string): string {
  const clean = apiPath(path);
  const stem = clean.replace(/\.ipynb$/i, '');
  return `${stem}-remix.ipynb`;
}

/**
 * `metadata.nj.remix` of a notebook's metadata (`nj`), when it is well formed; else null.
 */
export function remixOf(nj: unknown): IRemixMetadata | null {
  const remix = (nj as { remix?: unknown } | null | undefined)?.remix as
    IRemixMetadata | undefined;
  if (
    !remix ||
    typeof remix !== 'object' ||
    !remix.from ||
    typeof remix.from.path !== 'string' ||
    typeof remix.from.version !== 'string'
  ) {
    return null;
  }
  return remix;
}

/**
 * Who wrote the original, for people: display names (user names where none), joined.
 */
export function remixAuthors(
  origin: IRemixOrigin,
  trans: ITrans = untranslated
): string {
  const users = Array.isArray(origin.authors) ? origin.authors : [];
  const shown = origin.author_display_names ?? [];
  const names = users.map((user, i) => shown[i] || user);
  return names.length > 0 ? names.join(', ') : trans.__('unknown');
}

/**
 * "Remixed from analysis.ipynb by Ann at version 1a2b3c4d" (the parts, for a line with links).
 */
export function remixAttribution(
  remix: IRemixMetadata,
  trans: ITrans = untranslated
): string {
  return trans.__(
    'Remixed from %1 by %2 at version %3',
    remix.from.path,
    remixAuthors(remix.from, trans),
    remix.from.version.slice(0, 8)
  );
}

/**
 * A slug from a title, as the server makes it: lower-case ASCII letters, digits and single
 * hyphens, at most 64 characters.
 */
export function slugify(title: string): string {
  const slug = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 64)
    .replace(/-+$/g, '');
  return slug || 'notebook';
}

/** Whether the server takes `slug` as it is. */
export function isSlug(slug: string): boolean {
  return /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/.test(slug);
}

/**
 * The title of a notebook, as the server reads it: `metadata.title`, else its first Markdown
 * heading, else its file name without `.ipynb`.
 */
export function notebookTitle(notebook: any, path: string): string {
  const title = notebook?.metadata?.title;
  if (typeof title === 'string' && title.trim()) {
    return title.trim();
  }
  for (const cell of notebook?.cells ?? []) {
    if (cell?.cell_type !== 'markdown') {
      continue;
    }
    const source = Array.isArray(cell.source)
      ? cell.source.join('')
      : String(cell.source ?? '');
    for (const line of source.split('\n')) {
      const match = /^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
      if (match) {
        return match[1];
      }
    }
  }
  const name = path.split('/').pop() ?? path;
  return name.replace(/\.ipynb$/, '') || 'notebook';
}

/**
 * The body part of a named share (`share_with`), from the dialog's kind and typed name; null
 * when no name was typed.
 */
export function shareTargetOf(
  kind: 'user' | 'group',
  name: string
): ShareTarget | null {
  const trimmed = name.trim();
  if (!trimmed) {
    return null;
  }
  return kind === 'user' ? { user: trimmed } : { group: trimmed };
}

/**
 * Whom a link is shared with, in words (`with user bob`, `with group lab`), or '' for a link
 * that names nobody.
 */
export function describeShareTarget(
  sharedWith: Partial<Record<'user' | 'group', string>> | null | undefined,
  trans: ITrans = untranslated
): string {
  if (sharedWith?.user) {
    return trans.__('with user %1', sharedWith.user);
  }
  if (sharedWith?.group) {
    return trans.__('with group %1', sharedWith.group);
  }
  return '';
}

/**
 * The names the dialog offers for a kind of share: the users, or the groups' names, sorted;
 * none when the list could not be had (typing still works).
 */
export function shareChoices(
  principals: IPrincipals | null,
  kind: 'user' | 'group'
): string[] {
  if (!principals) {
    return [];
  }
  const names =
    kind === 'user'
      ? principals.users
      : principals.groups.map(group => group.name);
  return [...new Set(names)].sort();
}
