/**
 * Pure helpers of the History UI: API paths and endpoints, grouping by day, short labels. No
 * JupyterLab imports, so they are unit-tested in node.
 */
import { apiPath } from '../paths';
import { type ITrans, untranslated } from '../translation';
import type { IHistoryVersion } from './tokens';

/**
 * The endpoint (relative to `/nj/api/`) for a file's history, each path segment URL-escaped and
 * the query parameters (those not undefined or null) appended in the given order.
 */
export function historyEndpoint(
  path: string,
  query: Record<string, string | number | boolean | null | undefined> = {}
): string {
  const segments = apiPath(path)
    .split('/')
    .filter(segment => segment.length > 0)
    .map(segment => encodeURIComponent(segment));
  const params = Object.entries(query)
    .filter(([, value]) => value !== undefined && value !== null)
    .map(
      ([key, value]) =>
        `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`
    );
  const endpoint = ['history', ...segments].join('/');
  return params.length > 0 ? `${endpoint}?${params.join('&')}` : endpoint;
}

/**
 * The value of the `diff` query parameter: `<base>..<remote>`.
 */
export function diffSpec(base: string, remote: string): string {
  return `${base}..${remote}`;
}

/**
 * A day of versions, for the panel's grouping.
 */
export interface IVersionDay {
  /** Stable key of the day in local time, `YYYY-MM-DD`. */
  key: string;
  /** What the panel shows: "Today", "Yesterday" or the date. */
  label: string;
  /** The day's versions, in the order given (newest first). */
  versions: IHistoryVersion[];
}

/**
 * The local calendar day of a date, `YYYY-MM-DD`.
 */
export function dayKey(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/**
 * Group versions (newest first) by local calendar day, keeping their order. `now` decides which
 * day is "Today"; `formatDay` renders older days (defaults to the locale's long date).
 */
export function groupByDay(
  versions: IHistoryVersion[],
  now: Date = new Date(),
  formatDay: (date: Date) => string = Private.formatDay,
  trans: ITrans = untranslated
): IVersionDay[] {
  const today = dayKey(now);
  const yesterdayDate = new Date(now);
  yesterdayDate.setDate(now.getDate() - 1);
  const yesterday = dayKey(yesterdayDate);
  const days: IVersionDay[] = [];
  for (const version of versions) {
    const created = new Date(version.created);
    const key = Number.isNaN(created.getTime()) ? 'unknown' : dayKey(created);
    let day = days.length > 0 ? days[days.length - 1] : null;
    if (day === null || day.key !== key) {
      const label =
        key === 'unknown'
          ? trans.__('Unknown date')
          : key === today
            ? trans.__('Today')
            : key === yesterday
              ? trans.__('Yesterday')
              : formatDay(created);
      day = { key, label, versions: [] };
      days.push(day);
    }
    day.versions.push(version);
  }
  return days;
}

/**
 * The local time of day of a version, `HH:MM:SS`.
 */
export function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) {
    return iso;
  }
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/**
 * An author's name for the panel: anonymous users are known by a random hex id or UUID, of which
 * the first 8 characters tell them apart well enough.
 */
export function shortAuthor(name: string): string {
  return /^[0-9a-f-]{20,}$/i.test(name) ? name.slice(0, 8) : name;
}

/**
 * The names to show for a version's authors, in the order of `authors`: each author's display
 * name when the server sent one, else the (shortened) username.
 */
export function authorNames(
  version: Pick<IHistoryVersion, 'authors' | 'author_display_names'>
): string[] {
  const display = version.author_display_names ?? [];
  return version.authors.map(
    (name, index) => display[index]?.trim() || shortAuthor(name)
  );
}

/**
 * The authors of a version in one short line. `authors` are shown as given (already display
 * names) except anonymous ids, which are shortened.
 */
export function formatAuthors(
  authors: string[],
  trans: ITrans = untranslated
): string {
  const names = authors.map(shortAuthor);
  if (names.length === 0) {
    return trans.__('unknown author');
  }
  if (names.length <= 2) {
    return names.join(', ');
  }
  return `${names[0]}, ${names[1]} +${names.length - 2}`;
}

/**
 * A version's authors in one short line, by display name where the server sent one.
 */
export function formatVersionAuthors(
  version: Pick<IHistoryVersion, 'authors' | 'author_display_names'>,
  trans: ITrans = untranslated
): string {
  return formatAuthors(authorNames(version), trans);
}

/**
 * A byte count for people: `812 B`, `12.3 KB`, `4.5 MB`.
 */
export function formatSize(bytes: number): string {
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * The short form of a version id, as git shows it.
 */
export function shortId(id: string): string {
  return id === 'current' ? 'current' : id.slice(0, 7);
}

/**
 * A one-line name for a version: its label when it has one, else its time and short id.
 */
export function versionTitle(version: IHistoryVersion): string {
  const when = `${dayKey(new Date(version.created))} ${formatTime(version.created)}`;
  return version.label
    ? `${version.label} (${shortId(version.id)})`
    : `${when} (${shortId(version.id)})`;
}

namespace Private {
  /** The locale's long date, e.g. "Mon, Nov 23, 2026". */
  export function formatDay(date: Date): string {
    return date.toLocaleDateString(undefined, {
      weekday: 'short',
      year: 'numeric',
      month: 'short',
      day: 'numeric'
    });
  }
}
