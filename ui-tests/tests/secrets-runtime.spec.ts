import { expect, test } from '@jupyterlab/galata';
import type { APIRequestContext } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

import { saveNotebook } from './helpers';

/**
 * A secret attached to a notebook, end to end in a Docker runtime: the kernel reads it (as an
 * environment variable and through the kernel-side client), the browser shows `[secret NAME]`
 * where it prints it, and neither the saved .ipynb, any history version, nor the real-time store
 * (jupyter-collaboration's .jupyter_ystore.db) holds the value.
 */

const NAME = 'UI_API_TOKEN';
const VALUE = `nj-ui-${Date.now()}-value-that-must-stay-secret`;

async function ok(response: { ok(): boolean; status(): number; text(): Promise<string> }) {
  if (!response.ok()) {
    throw new Error(`HTTP ${response.status()}: ${await response.text()}`);
  }
  return response;
}

/** Everything jupyter-collaboration's store has written so far (the server runs in ui-tests/). */
function realtimeStore(): string {
  const db = path.resolve(__dirname, '../.jupyter_ystore.db');
  return [db, `${db}-wal`, `${db}-journal`]
    .filter(file => fs.existsSync(file))
    .map(file => fs.readFileSync(file).toString('latin1'))
    .join('');
}

async function historyContents(request: APIRequestContext, file: string) {
  const encoded = file.split('/').map(encodeURIComponent).join('/');
  const listing = await (await ok(await request.get(`/nj/api/history/${encoded}`))).json();
  const contents: string[] = [];
  for (const version of listing.versions) {
    const one = await ok(
      await request.get(`/nj/api/history/${encoded}?version=${version.id}`)
    );
    contents.push(await one.text());
  }
  return contents;
}

test.use({ autoGoto: true });

test('a secret reaches a Docker runtime and never the browser, the file or history', async ({
  page,
  request,
  tmpPath
}) => {
  // The image build alone may take up to four minutes on a machine that has none yet.
  test.setTimeout(480000);
  // The python environment's image (reused when the runtimes tests already built it).
  const build = await ok(
    await request.post('/nj/api/environments/python/build', {
      data: { backend: 'docker' },
      timeout: 240000
    })
  );
  const built = await build.json();
  expect(built.backend).toBe('docker');

  await ok(await request.put(`/nj/api/secrets/${NAME}`, { data: { value: VALUE } }));
  const file = `${tmpPath}/uses-secret.ipynb`;
  await ok(
    await request.put(`/api/contents/${file}`, {
      data: {
        type: 'notebook',
        content: {
          nbformat: 4,
          nbformat_minor: 5,
          cells: [],
          metadata: {
            kernelspec: { name: 'nj-python', display_name: 'Python', language: 'python' },
            nj: {
              runtimes: {
                main: { environment: 'python', version: built.version, backend: 'docker' }
              }
            }
          }
        }
      }
    })
  );
  await ok(
    await request.put(`/nj/api/secret-attachments/${file}`, { data: { secrets: [NAME] } })
  );

  await page.notebook.openByPath(file);
  await page.notebook.activate('uses-secret.ipynb');
  await page.notebook.setCell(
    0,
    'code',
    [
      'import os',
      'from jupyter_nj import secrets',
      `print(os.path.exists('/.dockerenv'), os.getuid() != 0)`,
      `print(os.environ['${NAME}'])`,
      `secrets.get('${NAME}')`
    ].join('\n')
  );
  await page.notebook.runCell(0, true);
  const output = ((await page.notebook.getCellTextOutput(0)) ?? []).join('\n');
  // In a container, unprivileged; the value printed twice comes back redacted both times.
  expect(output).toContain('True True');
  expect(output.match(new RegExp(`\\[secret ${NAME}\\]`, 'g'))?.length).toBe(2);
  expect(output).not.toContain(VALUE);
  expect(await page.content()).not.toContain(VALUE);
  await page.screenshot({
    path: path.resolve(__dirname, '../../docs/images/secret-in-runtime.png')
  });

  await saveNotebook(page);
  const saved = await (
    await ok(await request.get(`/api/contents/${file}?type=file&format=text&content=1`))
  ).json();
  expect(saved.content).toContain(`[secret ${NAME}]`);
  expect(saved.content).not.toContain(VALUE);

  // History records the save a few seconds later (it coalesces rapid saves).
  await expect
    .poll(async () => (await historyContents(request, file)).length, { timeout: 60000 })
    .toBeGreaterThan(0);
  for (const content of await historyContents(request, file)) {
    expect(content).not.toContain(VALUE);
  }
  // The real-time store keeps the room's updates, outputs included: it holds what the browser
  // showed (the marker), never the value.
  await expect
    .poll(() => realtimeStore().includes(`[secret ${NAME}]`), { timeout: 30000 })
    .toBe(true);
  expect(realtimeStore()).not.toContain(VALUE);
  await ok(await request.delete(`/nj/api/secrets/${NAME}`));
});
