/**
 * Pure helpers of the Compute UI: which runtime a cell names, the runtimes a notebook declares,
 * new runtime names, run parameters and progress wording. No JupyterLab imports, so they are
 * unit-tested in node. The server reads the same metadata (`jupyter_nj/compute/model.py`).
 */
import { type ITrans, untranslated } from '../translation';
import type { IDeclaredRuntime, IRun, IRunEvent } from './tokens';

/**
 * The notebook's own kernel, the runtime of every cell that names none.
 */
export const MAIN = 'main';

/**
 * A runtime name: as the server checks it (short, safe in a URL and an environment variable).
 */
const RUNTIME_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The runtime a cell's `metadata.nj` names (absent or malformed: `main`).
 */
export function cellRuntimeName(cellNj: unknown): string {
  const name = isObject(cellNj) ? cellNj.runtime : undefined;
  return typeof name === 'string' && name ? name : MAIN;
}

/**
 * A cell's `metadata.nj` running on `name`, keeping what else it holds; null when nothing is
 * left (a cell on `main` carries no runtime key, so a notebook on one runtime stays unchanged).
 */
export function withCellRuntime(
  cellNj: unknown,
  name: string
): Record<string, unknown> | null {
  const nj: Record<string, unknown> = isObject(cellNj) ? { ...cellNj } : {};
  if (name === MAIN) {
    delete nj.runtime;
  } else {
    nj.runtime = name;
  }
  return Object.keys(nj).length > 0 ? nj : null;
}

/**
 * The well-formed runtimes of a notebook's `metadata.nj.runtimes`, by name (as the server
 * accepts them: a valid name and an environment).
 */
export function declaredRuntimes(
  notebookNj: unknown
): Record<string, IDeclaredRuntime> {
  const runtimes = isObject(notebookNj) ? notebookNj.runtimes : undefined;
  const declared: Record<string, IDeclaredRuntime> = {};
  if (!isObject(runtimes)) {
    return declared;
  }
  for (const [name, pin] of Object.entries(runtimes)) {
    if (
      RUNTIME_NAME.test(name) &&
      isObject(pin) &&
      typeof pin.environment === 'string'
    ) {
      const runtime: IDeclaredRuntime = { environment: pin.environment };
      if (typeof pin.version === 'string' && pin.version) {
        runtime.version = pin.version;
      }
      if (typeof pin.backend === 'string' && pin.backend) {
        runtime.backend = pin.backend;
      }
      declared[name] = runtime;
    }
  }
  return declared;
}

/**
 * The runtime names a cell can be put on: `main` first, then the declared ones by name.
 */
export function runtimeNames(notebookNj: unknown): string[] {
  const others = Object.keys(declaredRuntimes(notebookNj))
    .filter(name => name !== MAIN)
    .sort();
  return [MAIN, ...others];
}

/**
 * A notebook's `metadata.nj` with runtime `name` declared as `runtime`, keeping the rest.
 */
export function withDeclaredRuntime(
  notebookNj: unknown,
  name: string,
  runtime: IDeclaredRuntime
): Record<string, unknown> {
  const nj: Record<string, unknown> = isObject(notebookNj)
    ? { ...notebookNj }
    : {};
  const runtimes = isObject(nj.runtimes) ? { ...nj.runtimes } : {};
  const entry: Record<string, string> = { environment: runtime.environment };
  if (runtime.version) {
    entry.version = runtime.version;
  }
  if (runtime.backend) {
    entry.backend = runtime.backend;
  }
  runtimes[name] = entry;
  nj.runtimes = runtimes;
  return nj;
}

/**
 * Why `name` cannot name a new runtime of the notebook, or null when it can.
 */
export function runtimeNameProblem(
  name: string,
  taken: string[],
  trans: ITrans = untranslated
): string | null {
  if (!RUNTIME_NAME.test(name)) {
    return trans.__(
      'A runtime name is 1-32 lower-case letters, digits, "-" or "_", starting with a letter.'
    );
  }
  if (name === MAIN || taken.includes(name)) {
    return trans.__('The notebook already has a runtime named %1.', name);
  }
  return null;
}

/**
 * A free name for a new runtime of `environment`: the environment's name when it is free and
 * valid, else with `-2`, `-3`... after it.
 */
export function suggestRuntimeName(
  environment: string,
  taken: string[]
): string {
  let base = environment.toLowerCase().replace(/[^a-z0-9_-]/g, '-');
  if (!/^[a-z]/.test(base)) {
    base = `r${base}`;
  }
  base = base.slice(0, 29);
  const used = new Set([MAIN, ...taken]);
  if (!used.has(base)) {
    return base;
  }
  for (let n = 2; ; n++) {
    if (!used.has(`${base}-${n}`)) {
      return `${base}-${n}`;
    }
  }
}

/**
 * Whether the notebook runs on more than one runtime: it declares one besides `main`, or a cell
 * names one. Then every code cell shows its runtime; otherwise only the active cell does.
 */
export function usesSeveralRuntimes(
  notebookNj: unknown,
  cellRuntimes: Iterable<string>
): boolean {
  if (runtimeNames(notebookNj).length > 1) {
    return true;
  }
  for (const name of cellRuntimes) {
    if (name !== MAIN) {
      return true;
    }
  }
  return false;
}

/**
 * The CSS-safe form of a runtime state (`not started` -> `not-started`).
 */
export function stateKey(state: string): string {
  return state.replace(/[^a-z]+/gi, '-').toLowerCase();
}

/**
 * Parameters for a run from text, one `name = value` per line: a value that parses as JSON
 * (`3`, `0.5`, `true`, `"text"`, `[1, 2]`) is that value, anything else is the text itself.
 * Empty lines and lines starting with `#` are skipped. Throws an Error naming the first bad line.
 */
export function parseParameters(
  text: string,
  trans: ITrans = untranslated
): Record<string, unknown> {
  const parameters: Record<string, unknown> = {};
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) {
      return;
    }
    const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) {
      throw new Error(
        trans.__('Line %1 is not "name = value": %2', String(index + 1), line)
      );
    }
    const [, name, value] = match;
    try {
      parameters[name] = JSON.parse(value);
    } catch {
      parameters[name] = value;
    }
  });
  return parameters;
}

/**
 * Where a background run of `path` saves its result by default: next to it, as
 * `<stem>.run.ipynb`, so the open notebook is not rewritten under its editors.
 */
export function defaultRunOutput(path: string): string {
  const slash = path.lastIndexOf('/');
  const folder = slash >= 0 ? path.slice(0, slash + 1) : '';
  const name = path.slice(slash + 1);
  const stem = name.endsWith('.ipynb') ? name.slice(0, -'.ipynb'.length) : name;
  return `${folder}${stem}.run.ipynb`;
}

/**
 * One line on how far a run is, for its notification.
 */
export function runProgress(
  run: Pick<IRun, 'path' | 'state' | 'cells' | 'done' | 'runtime' | 'output'> &
    Partial<Pick<IRun, 'error'>>,
  trans: ITrans = untranslated
): string {
  switch (run.state) {
    case 'queued':
      return trans.__('%1: starting its runtimes…', run.path);
    case 'running':
      return run.runtime
        ? trans.__(
            '%1: cell %2 of %3 on %4',
            run.path,
            String(Math.min(run.done + 1, run.cells)),
            String(run.cells),
            run.runtime
          )
        : trans.__('%1: running…', run.path);
    case 'succeeded':
      return trans.__(
        '%1 ran all %2 cells; the result is in %3',
        run.path,
        String(run.cells),
        run.output
      );
    case 'failed':
      return trans.__(
        '%1 failed: %2',
        run.path,
        run.error?.message ?? trans.__('unknown error')
      );
    default:
      return `${run.path}: ${run.state}`;
  }
}

/**
 * A run updated by one of its progress events (events are sent as the run goes; a poll of
 * `GET /nj/api/runs/{id}` gives the same fields).
 */
export function applyRunEvent(run: IRun, event: IRunEvent): IRun {
  if (event.run !== run.id) {
    return run;
  }
  const next: IRun = { ...run, state: event.state };
  if (typeof event.cells === 'number') {
    next.cells = event.cells;
  }
  if (typeof event.done === 'number') {
    next.done = event.done;
  }
  if (typeof event.runtime === 'string') {
    next.runtime = event.runtime;
  }
  if (typeof event.cell === 'number') {
    next.cell = event.cell;
  }
  if (event.message) {
    next.error = { ...(run.error ?? {}), message: event.message };
  }
  return next;
}
