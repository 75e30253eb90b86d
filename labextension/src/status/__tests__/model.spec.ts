import { describe as describeStatus, StatusModel, summarize } from '../model';
import { INJStatus } from '../../tokens';

const report: INJStatus = {
  version: '0.1.0',
  backends: [
    {
      name: 'docker',
      label: 'Docker engine',
      live: true,
      detail: 'Docker 20.10',
      hint: '',
      facts: {}
    },
    {
      name: 'vault',
      label: 'Vault / OpenBao',
      live: false,
      detail: 'not configured',
      hint: 'set NJApp.vault_url',
      facts: {}
    }
  ]
};

describe('summarize', () => {
  it('counts live backends', () => {
    expect(summarize(report, null)).toBe('nj 0.1.0 · 1/2 live');
  });

  it('says when the server cannot be reached before any answer', () => {
    expect(summarize(null, 'Failed to fetch')).toBe('nj: server unreachable');
  });

  it('keeps the last report when a later refresh fails', () => {
    expect(summarize(report, 'Failed to fetch')).toBe('nj 0.1.0 · 1/2 live');
  });
});

describe('describe', () => {
  it('lists every backend with its state', () => {
    const text = describeStatus(report);
    expect(text).toContain('● Docker engine: Docker 20.10');
    expect(text).toContain('○ Vault / OpenBao: not configured');
  });
});

describe('StatusModel', () => {
  it('stores the report and emits changed', async () => {
    const model = new StatusModel(async () => report);
    let emitted = 0;
    model.changed.connect(() => {
      emitted += 1;
    });
    await model.refresh();
    expect(model.status).toEqual(report);
    expect(model.error).toBeNull();
    expect(emitted).toBe(1);
    model.dispose();
  });

  it('records the error and keeps the previous report', async () => {
    let fail = false;
    const model = new StatusModel(async () => {
      if (fail) {
        throw new Error('boom');
      }
      return report;
    });
    await model.refresh();
    fail = true;
    await model.refresh();
    expect(model.status).toEqual(report);
    expect(model.error).toBe('boom');
    model.dispose();
  });
});
