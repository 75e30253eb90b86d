import {
  MAIN,
  applyRunEvent,
  cellRuntimeName,
  declaredRuntimes,
  defaultRunOutput,
  parseParameters,
  runProgress,
  runtimeNameProblem,
  runtimeNames,
  stateKey,
  suggestRuntimeName,
  usesSeveralRuntimes,
  withCellRuntime,
  withDeclaredRuntime
} from '../format';
import type { IRun } from '../tokens';

describe('cell runtimes', () => {
  it('reads the runtime a cell names, main when none or malformed', () => {
    expect(cellRuntimeName(undefined)).toBe(MAIN);
    expect(cellRuntimeName({})).toBe(MAIN);
    expect(cellRuntimeName({ runtime: '' })).toBe(MAIN);
    expect(cellRuntimeName({ runtime: 3 })).toBe(MAIN);
    expect(cellRuntimeName({ runtime: 'sh' })).toBe('sh');
  });

  it('puts a cell on a runtime keeping its other keys, and leaves main cells bare', () => {
    expect(withCellRuntime(undefined, 'sh')).toEqual({ runtime: 'sh' });
    expect(withCellRuntime({ other: 1 }, 'sh')).toEqual({
      other: 1,
      runtime: 'sh'
    });
    expect(withCellRuntime({ runtime: 'sh' }, MAIN)).toBeNull();
    expect(withCellRuntime({ runtime: 'sh', other: 1 }, MAIN)).toEqual({
      other: 1
    });
  });
});

describe('declared runtimes', () => {
  const nj = {
    runtimes: {
      main: { environment: 'python', version: 'sha256:a', backend: 'local' },
      sh: { environment: 'bash' },
      r: { environment: 'r', version: 'sha256:b', backend: 'docker', x: 1 },
      'Bad Name': { environment: 'python' },
      noenv: { version: 'sha256:c' }
    },
    secrets: ['TOKEN']
  };

  it('keeps the well-formed ones, as the server does', () => {
    expect(declaredRuntimes(nj)).toEqual({
      main: { environment: 'python', version: 'sha256:a', backend: 'local' },
      sh: { environment: 'bash' },
      r: { environment: 'r', version: 'sha256:b', backend: 'docker' }
    });
    expect(declaredRuntimes(undefined)).toEqual({});
    expect(declaredRuntimes({ runtimes: [] })).toEqual({});
  });

  it('lists main first, then the others by name', () => {
    expect(runtimeNames(nj)).toEqual(['main', 'r', 'sh']);
    expect(runtimeNames(undefined)).toEqual(['main']);
  });

  it('declares a runtime keeping the pin and the secrets', () => {
    const next = withDeclaredRuntime(nj, 'sql', { environment: 'duckdb' });
    expect((next.runtimes as any).sql).toEqual({ environment: 'duckdb' });
    expect((next.runtimes as any).main).toEqual(nj.runtimes.main);
    expect(next.secrets).toEqual(['TOKEN']);
    // The original is not changed (it is the shared model's value).
    expect((nj.runtimes as any).sql).toBeUndefined();
    expect(
      withDeclaredRuntime(undefined, 'sh', {
        environment: 'bash',
        backend: 'local'
      })
    ).toEqual({ runtimes: { sh: { environment: 'bash', backend: 'local' } } });
  });

  it('knows when a notebook runs on several runtimes', () => {
    expect(usesSeveralRuntimes(undefined, ['main', 'main'])).toBe(false);
    expect(usesSeveralRuntimes(nj, [])).toBe(true);
    expect(usesSeveralRuntimes(undefined, ['main', 'sh'])).toBe(true);
  });
});

describe('runtime names', () => {
  it('refuses names the server refuses, and names taken', () => {
    expect(runtimeNameProblem('sh', ['main'])).toBeNull();
    expect(runtimeNameProblem('Sh', [])).toMatch(/lower-case/);
    expect(runtimeNameProblem('1sh', [])).toMatch(/lower-case/);
    expect(runtimeNameProblem('', [])).toMatch(/lower-case/);
    expect(runtimeNameProblem('a'.repeat(33), [])).toMatch(/lower-case/);
    expect(runtimeNameProblem('main', [])).toMatch(/already/);
    expect(runtimeNameProblem('sh', ['main', 'sh'])).toMatch(/already/);
  });

  it('suggests a free name from the environment', () => {
    expect(suggestRuntimeName('bash', ['main'])).toBe('bash');
    expect(suggestRuntimeName('bash', ['main', 'bash'])).toBe('bash-2');
    expect(suggestRuntimeName('bash', ['bash', 'bash-2'])).toBe('bash-3');
    expect(suggestRuntimeName('R', [])).toBe('r');
    expect(suggestRuntimeName('3d.tools', [])).toBe('r3d-tools');
    expect(
      runtimeNameProblem(suggestRuntimeName('x'.repeat(40), []), [])
    ).toBeNull();
  });

  it('gives states a CSS-safe form', () => {
    expect(stateKey('not started')).toBe('not-started');
    expect(stateKey('idle')).toBe('idle');
  });
});

describe('background runs', () => {
  it('parses parameters as JSON values, else text', () => {
    expect(
      parseParameters(
        'alpha = 0.5\nname = "x"\nraw = hello world\n\n# note\nflags=[1, 2]'
      )
    ).toEqual({ alpha: 0.5, name: 'x', raw: 'hello world', flags: [1, 2] });
    expect(parseParameters('')).toEqual({});
    expect(() => parseParameters('ok = 1\n2bad = 3')).toThrow(/Line 2/);
  });

  it('saves the result next to the notebook by default', () => {
    expect(defaultRunOutput('a/b/report.ipynb')).toBe('a/b/report.run.ipynb');
    expect(defaultRunOutput('report.ipynb')).toBe('report.run.ipynb');
  });

  const run: IRun = {
    id: 'r1',
    path: 'nb.ipynb',
    output: 'nb.run.ipynb',
    parameters: {},
    state: 'queued',
    cells: 0,
    done: 0,
    cell: null,
    runtime: null,
    error: null,
    version: null
  };

  it('follows its events, ignoring other runs', () => {
    const started = applyRunEvent(run, {
      action: 'cell-started',
      run: 'r1',
      path: 'nb.ipynb',
      state: 'running',
      cells: 4,
      done: 1,
      cell: 2,
      runtime: 'sh'
    });
    expect(started).toMatchObject({
      state: 'running',
      cells: 4,
      done: 1,
      cell: 2,
      runtime: 'sh'
    });
    expect(runProgress(started)).toBe('nb.ipynb: cell 2 of 4 on sh');
    expect(
      applyRunEvent(run, {
        action: 'x',
        run: 'other',
        path: '',
        state: 'failed'
      })
    ).toBe(run);
    const failed = applyRunEvent(started, {
      action: 'run-finished',
      run: 'r1',
      path: 'nb.ipynb',
      state: 'failed',
      message: "cell 3 on runtime 'sh' failed"
    });
    expect(runProgress(failed)).toBe(
      "nb.ipynb failed: cell 3 on runtime 'sh' failed"
    );
    expect(runProgress({ ...started, state: 'succeeded' })).toBe(
      'nb.ipynb ran all 4 cells; the result is in nb.run.ipynb'
    );
  });
});
