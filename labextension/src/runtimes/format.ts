/**
 * Pure helpers of the Runtimes UI: labels, pins and version choices. No JupyterLab imports, so
 * they are unit-tested in node.
 */
import type { ITrans } from '../translation';
import type {
  IEnvironment,
  IEnvironmentVersion,
  IGpu,
  IGpuHolder,
  IRuntimeInfo,
  IRuntimePin
} from './tokens';

/**
 * Prefix of the kernelspecs the server writes for environments (`nj-python`).
 */
export const KERNELSPEC_PREFIX = 'nj-';

/**
 * The slot of the notebook's main runtime in `metadata.nj.runtimes`.
 */
export const PIN_SLOT = 'main';

/**
 * The kernelspec name that runs an environment.
 */
export function kernelNameFor(environment: string): string {
  return `${KERNELSPEC_PREFIX}${environment}`;
}

/**
 * The environment a kernelspec runs, or null for kernels that are not jupyter-nj runtimes.
 */
export function environmentOfKernel(
  kernelName: string | null | undefined
): string | null {
  if (!kernelName || !kernelName.startsWith(KERNELSPEC_PREFIX)) {
    return null;
  }
  return kernelName.slice(KERNELSPEC_PREFIX.length) || null;
}

/**
 * The first 12 hex digits of a version ID, as the server shows them.
 */
export function shortVersion(version: string): string {
  return version.replace(/^sha256:/, '').slice(0, 12);
}

/**
 * `environment@short`: what the toolbar control shows for a running runtime.
 */
export function runtimeLabel(info: IRuntimeInfo): string {
  if (!info.version) {
    return `${info.environment}@starting`;
  }
  return `${info.environment}@${info.version.short || shortVersion(info.version.version)}`;
}

/**
 * The pin a notebook's metadata holds (`metadata.nj.runtimes.main`), when it is well formed.
 */
export function readPin(nj: unknown): IRuntimePin | null {
  if (!isObject(nj) || !isObject(nj.runtimes)) {
    return null;
  }
  const pin = nj.runtimes[PIN_SLOT];
  if (!isObject(pin) || typeof pin.environment !== 'string') {
    return null;
  }
  return {
    environment: pin.environment,
    version: typeof pin.version === 'string' ? pin.version : '',
    backend: typeof pin.backend === 'string' ? pin.backend : ''
  };
}

/**
 * `metadata.nj` with the main pin set to `version`, keeping everything else it held.
 */
export function withPin(
  nj: unknown,
  version: IEnvironmentVersion
): Record<string, unknown> {
  const base = isObject(nj) ? { ...nj } : {};
  const runtimes = isObject(base.runtimes) ? { ...base.runtimes } : {};
  const previous = runtimes[PIN_SLOT];
  const pin: Record<string, unknown> = {
    environment: version.name,
    version: version.version,
    backend: version.backend
  };
  // The GPUs the runtime asks for stay with it on another version (the server does the same).
  if (isObject(previous) && previous.gpus !== undefined) {
    pin.gpus = previous.gpus;
  }
  runtimes[PIN_SLOT] = pin;
  base.runtimes = runtimes;
  return base;
}

/**
 * The version a new pin to `environment` gets when the user asks for "the newest": the newest
 * built on the backend the environment's kernelspec uses, else the newest on any backend.
 */
export function newestVersion(
  environment: IEnvironment,
  backend: string | null
): IEnvironmentVersion | null {
  const versions = sortedVersions(environment.versions);
  if (backend) {
    const same = versions.find(v => v.backend === backend);
    if (same) {
      return same;
    }
  }
  return versions[0] ?? null;
}

/**
 * Versions, newest first (by creation time; stable for equal times).
 */
export function sortedVersions(
  versions: IEnvironmentVersion[]
): IEnvironmentVersion[] {
  return versions
    .map((v, i) => ({ v, i }))
    .sort((a, b) => {
      const byTime = b.v.created.localeCompare(a.v.created);
      return byTime !== 0 ? byTime : a.i - b.i;
    })
    .map(({ v }) => v);
}

/**
 * Whether two version references name the same version (`sha256:` prefix optional).
 */
export function sameVersion(
  a: string | null | undefined,
  b: string | null | undefined
): boolean {
  if (!a || !b) {
    return false;
  }
  return a.replace(/^sha256:/, '') === b.replace(/^sha256:/, '');
}

/**
 * A short human description of a version: `20c3e933ac19 · local · 2026-11-23 19:08`.
 */
export function describeVersion(version: IEnvironmentVersion): string {
  const parts = [
    version.short || shortVersion(version.version),
    version.backend
  ];
  const when = formatCreated(version.created);
  if (when) {
    parts.push(when);
  }
  return parts.join(' · ');
}

/**
 * An ISO timestamp as `YYYY-MM-DD HH:MM` (UTC, as the server records it); '' when unreadable.
 */
export function formatCreated(created: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(created ?? '');
  return match ? `${match[1]} ${match[2]}` : '';
}

/**
 * A failed build's message split into the sentence and the build log the server appended.
 */
export function splitBuildLog(message: string): {
  summary: string;
  log: string;
} {
  const marker = 'End of the build log:';
  // Build tools colour their output; a <pre> shows the escape codes as garbage.
  // eslint-disable-next-line no-control-regex
  message = message.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  const at = message.indexOf(marker);
  if (at === -1) {
    return { summary: message, log: '' };
  }
  return {
    summary: message.slice(0, at).trim(),
    log: message.slice(at + marker.length).replace(/^\n/, '')
  };
}

/**
 * The lines of a cell's code that install or remove packages (`pip install x`, `!pip install`,
 * `%pip install`, `uv pip install`, `apt-get install`, ...): what changes a runtime's state so
 * that "Save environment" has something to keep. The same commands the server records.
 */
export function installCommands(code: string): string[] {
  const pattern =
    /(?:^|[\s!%;&|])(?:pip3?|uv\s+pip|apt-get|apt|conda|mamba)\s+(?:install|uninstall)\b/;
  return code
    .split('\n')
    .map(line => line.trim())
    .filter(line => pattern.test(line));
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Bytes as GiB with one decimal (`15.9 GiB`).
 */
export function formatGiB(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/**
 * Who holds a GPU, in words: `main of a.ipynb (ada)`.
 */
export function holderLabel(holder: IGpuHolder, trans: ITrans): string {
  const notebook = holder.notebook.split('/').pop() || holder.notebook;
  const who = holder.user ? ` (${holder.user})` : '';
  return notebook
    ? trans.__('%1 of %2', holder.runtime, notebook) + who
    : holder.runtime + who;
}

/**
 * A GPU's menu label: index, model, memory in use and total, and who holds it.
 */
export function gpuLabel(
  gpu: IGpu,
  trans: ITrans,
  ownKernel: string | null = null
): string {
  const memory = `${formatGiB(gpu.memory_used)} / ${formatGiB(gpu.memory_total)}`;
  const base = `GPU ${gpu.index}: ${gpu.name} · ${memory}`;
  if (!gpu.allocated_to) {
    return trans.__('%1 · free', base);
  }
  if (ownKernel && gpu.allocated_to.kernel_id === ownKernel) {
    return trans.__('%1 · this runtime', base);
  }
  return trans.__(
    '%1 · held by %2',
    base,
    holderLabel(gpu.allocated_to, trans)
  );
}

/**
 * How many GPUs a runtime asks for: 0 for none, the count, or the number of devices named.
 */
export function requestedGpuCount(
  requested: number | string[] | string | null | undefined
): number {
  if (Array.isArray(requested)) {
    return requested.length;
  }
  if (typeof requested === 'number') {
    return requested;
  }
  return requested ? -1 : 0;
}
