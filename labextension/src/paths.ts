/**
 * Paths as the server knows them. No JupyterLab imports, so it is unit-tested in node.
 */

/**
 * Drives whose prefix a front-end path may carry although the server knows the file by its plain
 * API path (`RTC:` is the real-time collaboration drive).
 */
export const KNOWN_DRIVES = ['RTC'];

/**
 * The server's API path of a front-end path: without a known drive prefix (`RTC:nb.ipynb` ->
 * `nb.ipynb`) and without leading or trailing slashes.
 */
export function apiPath(path: string, drives: string[] = KNOWN_DRIVES): string {
  let result = path;
  const colon = result.indexOf(':');
  const slash = result.indexOf('/');
  // A drive is a prefix of the first segment only: `a/b:c` has no drive.
  if (colon > 0 && (slash === -1 || colon < slash)) {
    if (drives.includes(result.slice(0, colon))) {
      result = result.slice(colon + 1);
    }
  }
  return result.replace(/^\/+|\/+$/g, '');
}
