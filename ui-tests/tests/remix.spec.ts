import { expect, test } from '@jupyterlab/galata';
import type { APIRequestContext, Page } from '@playwright/test';
import * as path from 'path';

import {
  buildLocal,
  getNotebook,
  putDirectory,
  putNotebook,
  putText,
  saveNotebook
} from './helpers';

/**
 * Remix end to end, against the real server, its history store and a local environment: the
 * notebook toolbar's Remix button copies a pinned notebook with its results folder; the copy says
 * where it came from, runs on the same environment version, writes its own results and gets
 * versions of its own after the original's ("Before the remix" in the History panel), while the
 * original stays as it was. (The browser is one user: galata's server has no login. A second
 * user remixing is tests/sharing/test_remix.py, with a token per user.)
 */

const IMAGES = path.resolve(__dirname, '../../docs/images');

/** Writes the results folder's file in place (its own inode), then says where it is. */
const WRITE_RESULTS = [
  'import os, pathlib',
  "target = pathlib.Path(os.environ['NJ_RESULTS']) / 'table.csv'",
  "with open(target, 'r+') as f:",
  "    f.write('remixed')",
  'print(target.parent.name, target.read_text().splitlines()[0])'
].join('\n');

async function readText(request: APIRequestContext, file: string) {
  const response = await request.get(`/api/contents/${file}?content=1`);
  expect(response.ok()).toBe(true);
  return (await response.json()).content as string;
}

function visible(page: Page, selector: string) {
  return page.locator(`.jp-NotebookPanel:not(.lm-mod-hidden) ${selector}`);
}

test.use({ autoGoto: true });

test.describe('jupyter-nj remix', () => {
  test('remix a pinned notebook, run it on the same version, change it; the original stays', async ({
    page,
    request,
    tmpPath
  }) => {
    test.setTimeout(180000);
    const errors: string[] = [];
    page.on('pageerror', error => errors.push(error.message));
    const built = await buildLocal(request, 'python');
    const pin = {
      environment: 'python',
      version: built.version,
      backend: 'local'
    };
    const original = `${tmpPath}/survey.ipynb`;
    await putDirectory(request, `${tmpPath}/survey.results`);
    await putText(request, `${tmpPath}/survey.results/table.csv`, 'a,b\n1,2\n');
    await putNotebook(
      request,
      original,
      [
        {
          id: 'cell-1',
          cell_type: 'code',
          metadata: {},
          source: WRITE_RESULTS,
          execution_count: null,
          outputs: []
        }
      ],
      {
        kernelspec: {
          name: 'nj-python',
          display_name: 'python',
          language: 'python'
        },
        nj: { runtimes: { main: pin } }
      }
    );

    // Open the original: its kernel starts on the pinned version (and the room may save the
    // kernel's language info). What it is once that settled is what must not change.
    await page.notebook.openByPath(original);
    await page.sidebar.close('left');
    await expect(visible(page, '.jp-nj-RuntimeControl')).toHaveAttribute(
      'data-version',
      built.version,
      { timeout: 60000 }
    );
    // The room saves the kernel's language info once the kernel has told it: wait for that.
    await expect
      .poll(
        async () =>
          (await getNotebook(request, original)).metadata.language_info
            ?.version ?? null,
        { timeout: 60000 }
      )
      .not.toBeNull();
    await page.waitForTimeout(1500);

    // Remix from the original's toolbar, under the name the dialog offers.
    await visible(page, '.jp-nj-RemixButton').click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('input')).toHaveValue(
      `${tmpPath}/survey-remix.ipynb`
    );
    await dialog.getByRole('button', { name: 'Remix' }).click();

    // The copy says where it came from, by whom, at which version.
    const line = visible(page, '.jp-nj-RemixedFrom');
    await expect(line).toContainText('Remixed from survey.ipynb by', {
      timeout: 30000
    });
    await expect(line).toHaveAttribute('data-from', original);
    // A remix of `current` first records what the room holds (when it differs from the newest
    // version): the remix starts from the original's newest version.
    const history = await (
      await request.get(`/nj/api/history/${original}`)
    ).json();
    const originalVersion = history.versions[0].id as string;
    const atRemix = (
      await (
        await request.get(
          `/nj/api/history/${original}?version=${originalVersion}`
        )
      ).json()
    ).content;
    await expect(line).toHaveAttribute('data-version', originalVersion);
    await expect(line).toContainText(
      `at version ${originalVersion.slice(0, 8)}`
    );

    // It runs on the environment version the original is pinned to, and its runtime writes the
    // remix's own results folder in place.
    await page.notebook.runCell(0, true);
    const output = (await page.notebook.getCellTextOutput(0))?.join('') ?? '';
    expect(output).toContain('survey-remix.results remixed');
    await expect(visible(page, '.jp-nj-RuntimeControl')).toHaveAttribute(
      'data-version',
      built.version,
      { timeout: 60000 }
    );

    // Change it and save: a version of the remix's own.
    await page.notebook.setCell(0, 'code', `${WRITE_RESULTS}\n# my change`);
    await saveNotebook(page);
    const remixFile = `${tmpPath}/survey-remix.ipynb`;
    await expect
      .poll(
        async () =>
          (
            await (await request.get(`/nj/api/history/${remixFile}`)).json()
          ).versions.filter((v: any) => !v.before_remix).length,
        { timeout: 30000 }
      )
      .toBeGreaterThanOrEqual(2);
    expect(
      (await getNotebook(request, remixFile)).metadata.nj.runtimes.main
    ).toEqual(pin);

    // The original is as it was: its file, its results, its history.
    const now = await getNotebook(request, original);
    // (The contents API adds `metadata.trusted` to each cell it reads.)
    const cells = (nb: any) =>
      nb.cells.map((c: any) => [c.id, c.source, c.outputs]);
    expect(cells(now)).toEqual(cells(atRemix));
    expect(now.metadata).toEqual(atRemix.metadata);
    expect(await readText(request, `${tmpPath}/survey.results/table.csv`)).toBe(
      'a,b\n1,2\n'
    );
    const after = await (
      await request.get(`/nj/api/history/${original}`)
    ).json();
    expect(after.versions.map((v: any) => v.id)).toEqual(
      history.versions.map((v: any) => v.id)
    );

    // The remix's History panel goes on into the original's versions, before the remix.
    await page.sidebar.open('right');
    const panel = page.locator('#jp-nj-history');
    if (!(await panel.isVisible())) {
      await page.locator('.jp-SideBar [data-id="jp-nj-history"]').click();
    }
    await expect(panel.locator('.jp-nj-HistoryPanel-file')).toHaveText(
      remixFile
    );
    const beforeRemix = panel.locator('.jp-nj-HistoryBeforeRemix');
    await expect(beforeRemix).toBeVisible();
    await expect(
      beforeRemix.locator(`[data-version-id="${originalVersion}"]`)
    ).toBeVisible();
    await expect(beforeRemix.locator('[data-action="label"]')).toHaveCount(0);
    // The line stays above the remix's cells through the edits and saves, with room of its own.
    await expect(line).toBeVisible();
    expect((await line.boundingBox())?.height ?? 0).toBeGreaterThan(15);
    await page.screenshot({ path: `${IMAGES}/remix.png` });
    expect(errors).toEqual([]);
  });
});
