import { apiPath } from '../../paths';
import { untranslated } from '../../translation';
import {
  formatGiB,
  gpuLabel,
  requestedGpuCount,
  installCommands,
  describeVersion,
  environmentOfKernel,
  kernelNameFor,
  newestVersion,
  readPin,
  runtimeLabel,
  sameVersion,
  sortedVersions,
  splitBuildLog,
  withPin
} from '../format';
import type { IEnvironment, IEnvironmentVersion, IGpu } from '../tokens';

function version(
  hex: string,
  backend: string,
  created: string,
  parent: string | null = null
): IEnvironmentVersion {
  return {
    name: 'python',
    version: `sha256:${hex}`,
    short: hex.slice(0, 12),
    backend,
    recipe: {},
    lock_sha256: 'x',
    created,
    parent,
    image: null,
    changes: []
  };
}

describe('runtimes format', () => {
  it('maps kernelspec names to environments and back', () => {
    expect(kernelNameFor('python')).toBe('nj-python');
    expect(environmentOfKernel('nj-python')).toBe('python');
    expect(environmentOfKernel('python3')).toBeNull();
    expect(environmentOfKernel('nj-')).toBeNull();
    expect(environmentOfKernel(undefined)).toBeNull();
  });

  it('strips the real-time drive from paths', () => {
    expect(apiPath('RTC:a/b.ipynb')).toBe('a/b.ipynb');
    expect(apiPath('/a/b.ipynb')).toBe('a/b.ipynb');
    expect(apiPath('a/b:c.ipynb')).toBe('a/b:c.ipynb');
    expect(apiPath('Other:x.ipynb')).toBe('Other:x.ipynb');
  });

  it('labels a runtime as environment@short', () => {
    const v = version('0123456789abcdef', 'local', '2026-01-02T03:04:05+00:00');
    expect(
      runtimeLabel({ environment: 'python', backend: 'local', version: v })
    ).toBe('python@0123456789ab');
    expect(
      runtimeLabel({ environment: 'python', backend: 'docker', version: null })
    ).toBe('python@starting');
    expect(describeVersion(v)).toBe('0123456789ab · local · 2026-01-02 03:04');
  });

  it('reads and writes the pin without losing other metadata', () => {
    const v = version(
      'aaaaaaaaaaaaaaaa',
      'docker',
      '2026-01-01T00:00:00+00:00'
    );
    const nj = withPin(
      { secrets: ['TOKEN'], runtimes: { gpu: { environment: 'torch' } } },
      v
    );
    expect(nj.secrets).toEqual(['TOKEN']);
    expect((nj.runtimes as any).gpu).toEqual({ environment: 'torch' });
    expect(readPin(nj)).toEqual({
      environment: 'python',
      version: 'sha256:aaaaaaaaaaaaaaaa',
      backend: 'docker'
    });
    expect(readPin(undefined)).toBeNull();
    expect(readPin({ runtimes: { main: { version: 'x' } } })).toBeNull();
  });

  it('keeps the GPUs a runtime asks for when it is pinned to another version', () => {
    const v = version(
      'bbbbbbbbbbbbbbbb',
      'docker',
      '2026-01-02T00:00:00+00:00'
    );
    const nj = withPin(
      { runtimes: { main: { environment: 'python', version: 'x', gpus: 2 } } },
      v
    );
    expect((nj.runtimes as any).main).toEqual({
      environment: 'python',
      version: 'sha256:bbbbbbbbbbbbbbbb',
      backend: 'docker',
      gpus: 2
    });
  });

  it('picks the newest version on the kernelspec backend', () => {
    const older = version(
      '1111111111111111',
      'local',
      '2026-01-01T00:00:00+00:00'
    );
    const newer = version(
      '2222222222222222',
      'docker',
      '2026-01-03T00:00:00+00:00'
    );
    const saved = version(
      '3333333333333333',
      'local',
      '2026-01-02T00:00:00+00:00',
      older.version
    );
    const env: IEnvironment = {
      name: 'python',
      display_name: 'Python',
      description: '',
      definition: 'ok',
      current_local_version: null,
      versions: [older, newer, saved]
    };
    expect(sortedVersions(env.versions).map(v => v.short)).toEqual([
      '222222222222',
      '333333333333',
      '111111111111'
    ]);
    expect(newestVersion(env, 'local')?.version).toBe(saved.version);
    expect(newestVersion(env, 'docker')?.version).toBe(newer.version);
    expect(newestVersion(env, null)?.version).toBe(newer.version);
    expect(newestVersion({ ...env, versions: [] }, 'local')).toBeNull();
  });

  it('compares versions with or without the sha256 prefix', () => {
    expect(sameVersion('sha256:abc', 'abc')).toBe(true);
    expect(sameVersion('abc', 'abd')).toBe(false);
    expect(sameVersion(null, 'abc')).toBe(false);
  });

  it('separates a failed build log from its summary', () => {
    const { summary, log } = splitBuildLog(
      'uv pip sync failed (exit 1). End of the build log:\nline 1\nline 2'
    );
    expect(summary).toBe('uv pip sync failed (exit 1).');
    expect(log).toBe('line 1\nline 2');
    expect(
      splitBuildLog(
        'x failed. End of the build log:\n\x1b[1m\x1b[31merror\x1b[39m\x1b[0m: no'
      ).log
    ).toBe('error: no');
    expect(splitBuildLog('Docker is down.')).toEqual({
      summary: 'Docker is down.',
      log: ''
    });
  });

  it('finds the install commands of a cell, with or without magic', () => {
    const code = [
      'import os',
      'pip install requests',
      '!pip install -q rich',
      '%pip install numpy',
      '!uv pip install polars',
      '!apt-get install -y jq',
      'print("pip installs are fun")',
      'x = 1  # no install here'
    ].join('\n');
    expect(installCommands(code)).toEqual([
      'pip install requests',
      '!pip install -q rich',
      '%pip install numpy',
      '!uv pip install polars',
      '!apt-get install -y jq'
    ]);
    expect(installCommands('pipinstall x\nmypip install')).toEqual([]);
  });
});

describe('GPU labels', () => {
  const gpu: IGpu = {
    uuid: 'GPU-1',
    index: 0,
    name: 'NVIDIA H100',
    memory_total: 80 * 1024 ** 3,
    memory_used: 2 * 1024 ** 3,
    utilization: 3,
    allocated_to: null
  };

  it('shows model, memory and that a GPU is free', () => {
    expect(formatGiB(1.5 * 1024 ** 3)).toBe('1.5 GiB');
    expect(gpuLabel(gpu, untranslated)).toBe(
      'GPU 0: NVIDIA H100 · 2.0 GiB / 80.0 GiB · free'
    );
  });

  it('names who holds a GPU, or that this runtime does', () => {
    const held = {
      ...gpu,
      allocated_to: {
        kernel_id: 'k1',
        notebook: 'deep/train.ipynb',
        runtime: 'main',
        user: 'ada'
      }
    };
    expect(gpuLabel(held, untranslated)).toBe(
      'GPU 0: NVIDIA H100 · 2.0 GiB / 80.0 GiB · held by main of train.ipynb (ada)'
    );
    expect(gpuLabel(held, untranslated, 'k1')).toContain('· this runtime');
  });

  it('counts what a runtime asks for', () => {
    expect(requestedGpuCount(undefined)).toBe(0);
    expect(requestedGpuCount(2)).toBe(2);
    expect(requestedGpuCount(['GPU-1'])).toBe(1);
    expect(requestedGpuCount('all')).toBe(-1);
  });
});
