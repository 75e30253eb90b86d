/**
 * Pure helpers of the Secrets UI (no JupyterLab imports, unit-tested in node).
 */
import { type ITrans, untranslated } from '../translation';
import type { ISecret, ISecretChange } from './tokens';

/**
 * The name rule the server enforces, checked early so the form can say so before a round trip.
 */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A comma- or whitespace-separated list of names, trimmed and de-duplicated.
 */
export function parseNames(text: string): string[] {
  const seen = new Set<string>();
  for (const part of text.split(/[\s,]+/)) {
    if (part) {
      seen.add(part);
    }
  }
  return [...seen];
}

/**
 * "shared with" in words: `alice, bob; groups: analysts` or `only you`.
 */
export function describeSharing(
  secret: ISecret,
  trans: ITrans = untranslated
): string {
  const users = secret.shared_with?.users ?? [];
  const groups = secret.shared_with?.groups ?? [];
  const parts: string[] = [];
  if (users.length) {
    parts.push(trans.__('users: %1', users.join(', ')));
  }
  if (groups.length) {
    parts.push(trans.__('groups: %1', groups.join(', ')));
  }
  return parts.length ? parts.join('; ') : trans.__('not shared');
}

/**
 * What the form's fields mean as a PUT body. An empty value on an edit keeps the stored one
 * (the value is write-only: the form never holds the current value).
 */
export function secretChange(fields: {
  value: string;
  description: string;
  users: string;
  groups: string;
}): ISecretChange {
  const change: ISecretChange = {
    description: fields.description.trim(),
    shared_with: {
      users: parseNames(fields.users),
      groups: parseNames(fields.groups)
    }
  };
  if (fields.value.length > 0) {
    change.value = fields.value;
  }
  return change;
}

/**
 * The endpoint of a notebook's attachments, each path segment escaped.
 */
export function attachmentsEndpoint(path: string): string {
  const segments = path
    .split('/')
    .filter(s => s.length > 0)
    .map(encodeURIComponent);
  return ['secret-attachments', ...segments].join('/');
}

/**
 * The attached names with `name` added or removed, order kept.
 */
export function toggleName(
  names: string[],
  name: string,
  attach: boolean
): string[] {
  if (attach) {
    return names.includes(name) ? [...names] : [...names, name];
  }
  return names.filter(n => n !== name);
}

/**
 * A comma-separated names field with `name` added (when absent) or removed (when present): what
 * a click on one of the form's offered names does to the field.
 */
export function toggleListed(text: string, name: string): string {
  const names = parseNames(text);
  const next = names.includes(name)
    ? names.filter(n => n !== name)
    : [...names, name];
  return next.join(', ');
}

/**
 * Whether the names field lists `name`.
 */
export function isListed(text: string, name: string): boolean {
  return parseNames(text).includes(name);
}
