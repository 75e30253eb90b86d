import { expect, test } from '@jupyterlab/galata';
import type { APIRequestContext, Page } from '@playwright/test';
import * as path from 'path';

import { getNotebook, putNotebook, putText, saveNotebook } from './helpers';

/**
 * The History pillar end to end, against the real server: every save becomes a version (recorded
 * a few seconds later, so the tests poll), the History panel lists them, nbdime's diff view
 * compares them, a version opens read-only, labels stick, and a restore brings old content back,
 * through the shared model when the document is open in a real-time room, and through the
 * contents manager when it is not. Nothing of our own API is mocked.
 */

// Notebooks without a kernel: these tests are about files, not runtimes.
const NO_KERNEL = { kernel: null };

interface IVersion {
  id: string;
  created: string;
  authors: string[];
  author_display_names?: string[];
  message: string;
  label: string | null;
  checkpoint: boolean;
}

function historyUrl(file: string, query = ''): string {
  const escaped = file.split('/').map(encodeURIComponent).join('/');
  return `/nj/api/history/${escaped}${query}`;
}

async function listVersions(
  request: APIRequestContext,
  file: string
): Promise<IVersion[]> {
  const response = await request.get(historyUrl(file, '?limit=100'));
  if (response.status() === 404) {
    return [];
  }
  expect(response.status()).toBe(200);
  return (await response.json()).versions;
}

async function versionText(
  request: APIRequestContext,
  file: string,
  id: string
): Promise<string> {
  const response = await request.get(
    historyUrl(file, `?version=${encodeURIComponent(id)}`)
  );
  expect(response.status()).toBe(200);
  return JSON.stringify((await response.json()).content);
}

/**
 * Wait until the newest version of `file` contains `text` (all of them, when a list, and none of
 * `absent`), and return its id. In a real-time room the server also saves while a test types, so
 * a test names everything the version it waits for must hold. Versions are written by the
 * server's recorder a few seconds after a save.
 */
async function waitForVersionWith(
  request: APIRequestContext,
  file: string,
  text: string | string[],
  absent: string[] = []
): Promise<string> {
  const present = Array.isArray(text) ? text : [text];
  let found = '';
  await expect
    .poll(
      async () => {
        const versions = await listVersions(request, file);
        if (versions.length === 0) {
          return false;
        }
        const content = await versionText(request, file, versions[0].id);
        if (
          present.every(p => content.includes(p)) &&
          absent.every(a => !content.includes(a))
        ) {
          found = versions[0].id;
          return true;
        }
        return false;
      },
      {
        message: `a version of ${file} with ${JSON.stringify(present)}, without ${JSON.stringify(absent)}`,
        timeout: 60000,
        intervals: [500, 1000, 2000]
      }
    )
    .toBe(true);
  return found;
}

/** The source of a notebook on disk, through the contents API. */
async function diskSources(
  request: APIRequestContext,
  file: string
): Promise<string[]> {
  return (await getNotebook(request, file)).cells.map((cell: any) =>
    Array.isArray(cell.source) ? cell.source.join('') : cell.source
  );
}

/** Run a JupyterLab command in the page without waiting for it to finish. */
async function startCommand(page: Page, id: string, args: any): Promise<void> {
  await page.evaluate(
    ({ id, args }) =>
      void (window as any).jupyterapp.commands.execute(id, args),
    { id, args }
  );
}

function codeCell(id: string, source: string, outputText?: string) {
  return {
    id,
    cell_type: 'code',
    metadata: {},
    source,
    execution_count: outputText ? 1 : null,
    outputs: outputText
      ? [{ output_type: 'stream', name: 'stdout', text: outputText }]
      : []
  };
}

async function openHistoryPanel(page: Page): Promise<void> {
  const tab = page.locator('.jp-SideBar [data-id="jp-nj-history"]');
  const panel = page.locator('#jp-nj-history');
  if (!(await panel.isVisible())) {
    await tab.click();
  }
  await expect(panel).toBeVisible();
}

/**
 * Close the kernel dialogs a second user gets when opening a notebook that has no kernel (kernel
 * choice, or a kernel that cannot start): these tests are about files.
 */
async function dismissKernelDialogs(page: Page): Promise<void> {
  const dialog = page.locator('.jp-Dialog');
  for (let i = 0; i < 3; i++) {
    try {
      await dialog.first().waitFor({ state: 'visible', timeout: 5000 });
    } catch {
      return;
    }
    const reject = dialog.locator('.jp-mod-reject');
    if ((await reject.count()) > 0) {
      await reject.first().click();
    } else {
      await dialog.locator('.jp-Dialog-footer button').last().click();
    }
    await expect(dialog).toHaveCount(0);
  }
}

function versionRow(page: Page, id: string) {
  return page.locator(
    `#jp-nj-history .jp-nj-HistoryVersion[data-version-id="${id}"]`
  );
}

test.use({ autoGoto: true });

test.describe('jupyter-nj history', () => {
  test('save, browse, label, view, diff with nbdime and restore a notebook', async ({
    page,
    request,
    tmpPath
  }) => {
    const errors: string[] = [];
    page.on('pageerror', error => errors.push(error.message));
    const file = `${tmpPath}/history.ipynb`;

    await page.notebook.createNew('history.ipynb', NO_KERNEL);
    await page.notebook.setCell(0, 'code', 'x = 1');
    await page.notebook.addCell('markdown', '# Unchanged heading');
    await page.notebook.addCell('code', 'y = 2');
    await page.notebook.addCell('code', 'z = 3');
    await saveNotebook(page);
    const allCells = ['Unchanged heading', 'y = 2', 'z = 3'];
    const v1 = await waitForVersionWith(request, file, ['x = 1', ...allCells]);

    await page.notebook.setCell(0, 'code', 'x = 2');
    await saveNotebook(page);
    const v2 = await waitForVersionWith(request, file, ['x = 2', ...allCells]);

    await page.notebook.setCell(0, 'code', 'x = 3');
    await saveNotebook(page);
    const v3 = await waitForVersionWith(request, file, ['x = 3', ...allCells]);
    expect(new Set([v1, v2, v3]).size).toBe(3);

    // The panel follows the current notebook and lists the versions, newest first, by day.
    await openHistoryPanel(page);
    const panel = page.locator('#jp-nj-history');
    await expect(panel.locator('.jp-nj-HistoryPanel-file')).toHaveText(file);
    await expect(versionRow(page, v3)).toBeVisible({ timeout: 30000 });
    await expect(versionRow(page, v1)).toBeVisible();
    await expect(panel.locator('.jp-nj-HistoryDay-label').first()).toHaveText(
      'Today'
    );
    const ids = await panel
      .locator('.jp-nj-HistoryVersion')
      .evaluateAll(rows => rows.map(r => (r as HTMLElement).dataset.versionId));
    expect(ids.indexOf(v3)).toBeLessThan(ids.indexOf(v2));
    expect(ids.indexOf(v2)).toBeLessThan(ids.indexOf(v1));
    const serverIds = (await listVersions(request, file)).map(v => v.id);
    expect(ids).toEqual(serverIds.slice(0, ids.length));

    // Label the first version; the label is stored on the server.
    await versionRow(page, v1).locator('[data-action="label"]').click();
    const dialog = page.locator('.jp-Dialog');
    await dialog.locator('input').fill('first draft');
    await dialog.locator('.jp-mod-accept').click();
    await expect(
      versionRow(page, v1).locator('.jp-nj-HistoryVersion-label')
    ).toHaveText('first draft');
    const labelled = (await listVersions(request, file)).find(v => v.id === v1);
    expect(labelled?.label).toBe('first draft');

    // Open the first version read-only.
    await versionRow(page, v1).locator('[data-action="view"]').click();
    const viewer = page.locator('.jp-nj-VersionViewer[data-state="ready"]');
    await expect(viewer).toBeVisible({ timeout: 30000 });
    const firstCell = viewer.locator('.jp-Cell .cm-content').first();
    await expect(firstCell).toHaveText('x = 1');
    await firstCell.click();
    await page.keyboard.type('999');
    await expect(firstCell).toHaveText('x = 1');

    // Compare the first and the last version in nbdime's view: one changed cell, three unchanged
    // cells collapsed until asked for.
    await versionRow(page, v1).locator('[data-action="select"]').click();
    await versionRow(page, v3).locator('[data-action="select"]').click();
    await panel.locator('[data-action="compare"]').click();
    const diff = page.locator(
      `.jp-nj-HistoryDiff[data-base="${v1}"][data-remote="${v3}"]`
    );
    await expect(diff).toHaveAttribute('data-state', 'ready', {
      timeout: 30000
    });
    await expect(diff).toHaveAttribute('data-changed-cells', '1');
    const changed = diff.locator('.jp-Cell-diff:not(.jp-Diff-unchanged)');
    await expect(changed).toHaveCount(1);
    await expect(changed).toContainText('x = 1');
    await expect(changed).toContainText('x = 3');
    const collapsed = diff.locator('.jp-nj-HistoryDiff-collapsed');
    await expect(collapsed).toHaveCount(1);
    await expect(collapsed).toHaveText('3 unchanged cells (show)');
    await expect(diff.locator('.jp-Diff-unchanged')).toHaveCount(0);
    await page.screenshot({
      path: path.resolve(__dirname, '../../docs/images/history-diff.png')
    });
    await collapsed.click();
    await expect(diff.locator('.jp-Cell-diff.jp-Diff-unchanged')).toHaveCount(
      3
    );
    await expect(diff).toContainText('Unchanged heading');
    await expect(diff.locator('.jp-nj-HistoryDiff-collapsed')).toHaveCount(0);
    // Turning "hide unchanged cells" off and on redraws without and with the collapsed run.
    const hide = diff.locator('input[data-option="hide-unchanged"]');
    await hide.uncheck();
    await expect(diff.locator('.jp-Cell-diff.jp-Diff-unchanged')).toHaveCount(
      3
    );
    await expect(diff.locator('.jp-nj-HistoryDiff-collapsed')).toHaveCount(0);
    await hide.check();
    await expect(diff.locator('.jp-nj-HistoryDiff-collapsed')).toHaveCount(1);
    await expect(diff.locator('.jp-Cell-diff.jp-Diff-unchanged')).toHaveCount(
      0
    );

    // A version against the file as it is now.
    await versionRow(page, v2).locator('[data-action="diff-current"]').click();
    const current = page.locator(
      `.jp-nj-HistoryDiff[data-base="${v2}"][data-remote="current"]`
    );
    await expect(current).toHaveAttribute('data-state', 'ready', {
      timeout: 30000
    });
    await expect(current).toContainText('x = 3');

    // Restore the first version into the open (real-time) notebook: it arrives through the shared
    // model, and the server appends it as a new version.
    await page
      .locator('.lm-DockPanel-tabBar .lm-TabBar-tabLabel', {
        hasText: /^history\.ipynb$/
      })
      .click();
    await versionRow(page, v1).locator('[data-action="restore"]').click();
    const confirm = page.locator('.jp-Dialog');
    await expect(confirm).toContainText('Restore this version?');
    await confirm.locator('.jp-mod-accept').click();
    await expect(
      page.locator('.jp-NotebookPanel:visible .jp-Cell .cm-content').first()
    ).toHaveText('x = 1', { timeout: 30000 });
    const restored = await waitForVersionWith(request, file, 'x = 1', [
      'x = 3'
    ]);
    expect([v1, v2, v3]).not.toContain(restored);
    await expect
      .poll(async () => (await diskSources(request, file))[0], {
        timeout: 30000
      })
      .toBe('x = 1');
    await expect(versionRow(page, restored)).toBeVisible({ timeout: 30000 });
    // What was current before the restore is still there to go back to.
    expect((await listVersions(request, file)).map(v => v.id)).toContain(v3);

    // Clearing the selection disables "compare" again.
    await panel.locator('[data-action="clear-selection"]').click();
    await expect(panel.locator('[data-action="compare"]')).toBeDisabled();
    await expect(
      panel.locator('.jp-nj-HistoryVersion-select:checked')
    ).toHaveCount(0);
    await page.screenshot({
      path: path.resolve(__dirname, '../../docs/images/history-panel.png')
    });
    expect(errors).toEqual([]);
  });

  test('restore through the contents API and diff with and without outputs', async ({
    page,
    request,
    tmpPath
  }) => {
    const name = 'outputs.ipynb';
    const file = `${tmpPath}/${name}`;
    // Two saves that no browser made, with the same source and different outputs.
    await putNotebook(request, file, [
      codeCell('a', 'print(41)', '41\n'),
      codeCell('b', 'print("same")', 'same\n')
    ]);
    const first = await waitForVersionWith(request, file, '41\\n');
    await putNotebook(request, file, [
      codeCell('a', 'print(41)', '42\n'),
      codeCell('b', 'print("same")', 'same\n')
    ]);
    const second = await waitForVersionWith(request, file, '42\\n');

    // Restore the first while no one has the file open: the server writes it through the
    // contents manager.
    await startCommand(page, 'jupyter-nj:history-restore', {
      path: file,
      version: first
    });
    await page.locator('.jp-Dialog .jp-mod-accept').click();
    const restored = await waitForVersionWith(request, file, '41\\n', [
      '42\\n'
    ]);
    expect([first, second]).not.toContain(restored);
    const disk = await getNotebook(request, file);
    expect(JSON.stringify(disk.cells[0].outputs)).toContain('41');

    // Open it: the panel follows, and nbdime shows the output change unless outputs are ignored.
    await page.evaluate(
      file =>
        (window as any).jupyterapp.commands.execute('docmanager:open', {
          path: file
        }),
      file
    );
    await openHistoryPanel(page);
    await expect(versionRow(page, restored)).toBeVisible({ timeout: 30000 });

    // Pages of two: "Load more" walks the server's cursor down to the oldest version.
    const all = (await listVersions(request, file)).map(v => v.id);
    expect(all.length).toBeGreaterThanOrEqual(3);
    await startCommand(page, 'jupyter-nj:history-open', { pageSize: 2 });
    const rows = page.locator('#jp-nj-history .jp-nj-HistoryVersion');
    const more = page.locator('#jp-nj-history [data-action="more"]');
    await expect(rows).toHaveCount(2);
    for (let shown = 2; shown < all.length; shown += 2) {
      await expect(more).toBeEnabled();
      await more.click();
      await expect(rows).toHaveCount(Math.min(shown + 2, all.length));
    }
    await expect(more).toHaveCount(0);
    const listed = await rows.evaluateAll(items =>
      items.map(item => (item as HTMLElement).dataset.versionId)
    );
    expect(listed).toEqual(all);

    await versionRow(page, first).locator('[data-action="select"]').click();
    await versionRow(page, second).locator('[data-action="select"]').click();
    await page.locator('#jp-nj-history [data-action="compare"]').click();
    const diff = page.locator(
      `.jp-nj-HistoryDiff[data-base="${first}"][data-remote="${second}"]`
    );
    await expect(diff).toHaveAttribute('data-state', 'ready', {
      timeout: 30000
    });
    await expect(diff).toHaveAttribute('data-changed-cells', '1');
    await expect(diff.locator('.jp-Diff-outputsContainer')).toContainText('42');
    await diff.locator('input[data-option="ignore-outputs"]').check();
    await expect(diff).toHaveAttribute('data-state', 'ready', {
      timeout: 30000
    });
    await expect(diff).toHaveAttribute('data-changed-cells', '0');
    await expect(diff).toContainText('No differences (outputs ignored).');
  });

  test('a text file: view a version read-only and diff it line by line', async ({
    page,
    request,
    tmpPath
  }) => {
    const file = `${tmpPath}/notes.md`;
    await putText(request, file, 'alpha\nbeta\ngamma\n');
    const first = await waitForVersionWith(request, file, 'beta');
    await putText(request, file, 'alpha\nBETA\ngamma\n');
    const second = await waitForVersionWith(request, file, 'BETA');

    await startCommand(page, 'jupyter-nj:history-diff', {
      path: file,
      base: first,
      remote: second
    });
    const diff = page.locator(
      `.jp-nj-HistoryDiff[data-base="${first}"][data-remote="${second}"]`
    );
    await expect(diff).toHaveAttribute('data-state', 'ready', {
      timeout: 30000
    });
    const text = diff.locator('.jp-nj-HistoryDiff-text');
    await expect(text).toContainText('beta');
    await expect(text).toContainText('BETA');

    await startCommand(page, 'jupyter-nj:history-view', {
      path: file,
      version: first
    });
    const viewer = page.locator(
      `.jp-nj-VersionViewer[data-version="${first}"][data-state="ready"]`
    );
    await expect(viewer).toBeVisible({ timeout: 30000 });
    const editor = viewer.locator('.cm-content');
    await expect(editor).toContainText('beta');
    await expect(editor).not.toContainText('BETA');
    await editor.click();
    await page.keyboard.type('edited');
    await expect(editor).not.toContainText('edited');
  });

  test('a 400-cell notebook with one change draws one cell, the rest collapsed', async ({
    page,
    request,
    tmpPath
  }) => {
    const file = `${tmpPath}/big.ipynb`;
    const cells = (changed: string) =>
      Array.from({ length: 400 }, (_, i) =>
        codeCell(`c${i}`, i === 200 ? changed : `value_${i} = ${i}`, `${i}\n`)
      );
    await putNotebook(request, file, cells('middle = "before"'));
    const base = await waitForVersionWith(request, file, 'middle = \\"before');
    await putNotebook(request, file, cells('middle = "after"'));
    const remote = await waitForVersionWith(request, file, 'middle = \\"after');

    const started = Date.now();
    await startCommand(page, 'jupyter-nj:history-diff', {
      path: file,
      base,
      remote
    });
    const diff = page.locator(
      `.jp-nj-HistoryDiff[data-base="${base}"][data-remote="${remote}"]`
    );
    await expect(diff).toHaveAttribute('data-state', 'ready', {
      timeout: 60000
    });
    const elapsed = Date.now() - started;
    console.log(`400-cell diff, one changed cell: ready in ${elapsed} ms`);
    await expect(diff).toHaveAttribute('data-changed-cells', '1');
    await expect(diff.locator('.jp-Cell-diff')).toHaveCount(1);
    await expect(diff.locator('.jp-nj-HistoryDiff-collapsed')).toHaveText([
      '200 unchanged cells (show)',
      '199 unchanged cells (show)'
    ]);
    await expect(diff.locator('.jp-Cell-diff')).toContainText('after');
  });

  test('two users in a real-time room: both are authors, a restore reaches both', async ({
    page,
    request,
    tmpPath,
    browser,
    baseURL
  }) => {
    const name = 'collab.ipynb';
    const file = `${tmpPath}/${name}`;
    await page.notebook.createNew(name, NO_KERNEL);
    await page.notebook.setCell(0, 'code', 'shared = "one"');
    await saveNotebook(page);
    const v1 = await waitForVersionWith(request, file, 'shared = \\"one\\"');

    // A second user (its own browser context, so its own identity) joins the room.
    const other = await browser.newContext();
    const page2 = await other.newPage();
    await page2.goto(`${baseURL}/lab/tree/${file}`);
    const cell2 = page2
      .locator('.jp-NotebookPanel:visible .jp-Cell .cm-content')
      .first();
    await expect(cell2).toHaveText('shared = "one"', { timeout: 60000 });
    await dismissKernelDialogs(page2);
    await cell2.click();
    await page2.keyboard.press('End');
    await page2.keyboard.type(' or "two"');
    await expect(
      page.locator('.jp-NotebookPanel:visible .jp-Cell .cm-content').first()
    ).toHaveText('shared = "one" or "two"', { timeout: 30000 });
    await page2.keyboard.press('Control+S');
    const v2 = await waitForVersionWith(request, file, 'or \\"two\\"');
    // The version names the user who edited since the previous one: not only the first user.
    const listed = await listVersions(request, file);
    const firstAuthors = listed.find(v => v.id === v1)?.authors ?? [];
    const secondAuthors = listed.find(v => v.id === v2)?.authors ?? [];
    expect(secondAuthors.some(a => !firstAuthors.includes(a))).toBe(true);

    // The second user restores the first version from the panel; the first user's open notebook
    // shows it without reloading, because it came through the shared model.
    // The second user's layout comes from the same workspace: the panel may already be open.
    await openHistoryPanel(page2);
    await expect(versionRow(page2, v2)).toBeVisible({ timeout: 30000 });
    // The row names the second user by the display name the server gave that browser (the
    // user name, an id, stays the key in the listing).
    const displayName2: string = await page2.evaluate(async () => {
      const reply = await fetch('/api/me');
      return (await reply.json()).identity.display_name;
    });
    const second = listed.find(v => v.id === v2);
    expect(second?.author_display_names).toContain(displayName2);
    expect(second?.authors).not.toContain(displayName2);
    await expect(versionRow(page2, v2)).toContainText(displayName2);
    await versionRow(page2, v1).locator('[data-action="restore"]').click();
    await page2.locator('.jp-Dialog .jp-mod-accept').click();
    await expect(
      page.locator('.jp-NotebookPanel:visible .jp-Cell .cm-content').first()
    ).toHaveText('shared = "one"', { timeout: 30000 });
    await expect(cell2).toHaveText('shared = "one"');
    const restored = await waitForVersionWith(
      request,
      file,
      'shared = \\"one\\"',
      ['two']
    );
    expect([v1, v2]).not.toContain(restored);
    // The first user's panel lists the restored version as the newest.
    await openHistoryPanel(page);
    await expect(
      page.locator('#jp-nj-history .jp-nj-HistoryVersion').first()
    ).toHaveAttribute('data-version-id', restored, { timeout: 30000 });
    await other.close();
  });
});
