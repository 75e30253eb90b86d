import { expect, test } from '@jupyterlab/galata';
import type { Page } from '@playwright/test';
import * as path from 'path';

import { buildLocal, getNotebook, putNotebook } from './helpers';

/**
 * Several runtimes in one notebook, end to end against the real server: a Python notebook gets
 * a Bash and an R runtime from its cells' runtime menus ("Add runtime"), a Python cell writes a
 * file into the results folder, a Bash cell counts its lines and an R cell reads it, the toolbar
 * lists the runtimes with their states, "Restart Kernel and Run All" runs them all afresh, and
 * Run > Run in the Background runs the notebook headless and opens its result. Nothing of our API is mocked; the runtimes
 * are the local (uv venv) backend's.
 */

const IMAGES = path.resolve(__dirname, '../../docs/images');

const WRITE_CSV = [
  'import os, pathlib',
  "table = pathlib.Path(os.environ['NJ_RESULTS']) / 'x.csv'",
  "table.write_text('a,b\\n1,2\\n3,4\\n5,6\\n')",
  "print('rows written:', 3)"
].join('\n');
const COUNT_LINES = 'echo "lines: $(wc -l < "$NJ_RESULTS/x.csv")"';
const ECHO_RUNTIME = 'echo "on $NJ_RUNTIME"';
const READ_IN_R = [
  'x <- read.csv(file.path(Sys.getenv("NJ_RESULTS"), "x.csv"))',
  'cat("R read", nrow(x), "rows; sum of b:", sum(x$b), "\\n")'
].join('\n');

function visible(page: Page, selector: string) {
  return page.locator(`.jp-NotebookPanel:not(.lm-mod-hidden) ${selector}`);
}

function badge(page: Page, index: number) {
  return visible(page, '.jp-Notebook .jp-CodeCell')
    .nth(index)
    .locator('.jp-nj-CellRuntime');
}

async function outputOf(page: Page, index: number): Promise<string> {
  return ((await page.notebook.getCellTextOutput(index)) ?? []).join('');
}

async function runApp(page: Page, command: string, args: any = {}) {
  await page.evaluate(
    ({ command, args }) =>
      (window as any).jupyterapp.commands.execute(command, args),
    { command, args }
  );
}

test.use({ autoGoto: true });

test.describe('jupyter-nj compute', () => {
  test('add Bash and R runtimes to a Python notebook, pass a file, restart and run all, run in the background', async ({
    page,
    request,
    tmpPath
  }) => {
    test.setTimeout(300000);
    const errors: string[] = [];
    page.on('pageerror', error => errors.push(error.message));
    const python = await buildLocal(request, 'python');
    const bash = await buildLocal(request, 'bash');
    const r = await buildLocal(request, 'r');
    const name = 'several.ipynb';
    const file = `${tmpPath}/${name}`;
    await putNotebook(
      request,
      file,
      [WRITE_CSV, COUNT_LINES, ECHO_RUNTIME, READ_IN_R].map((source, i) => ({
        cell_type: 'code',
        id: `cell-${i}`,
        source,
        metadata: {},
        outputs: [],
        execution_count: null
      })),
      {
        kernelspec: {
          name: 'nj-python',
          display_name: 'Python 3 (data)',
          language: 'python'
        },
        nj: {
          runtimes: {
            main: {
              environment: 'python',
              version: python.version,
              backend: 'local'
            }
          }
        }
      }
    );

    await page.notebook.openByPath(file);
    await page.notebook.activate(name);
    await page.sidebar.close('left');
    // One runtime: only the active cell shows its badge, and the toolbar list is hidden.
    await expect(badge(page, 0)).toHaveText(/^main/, { timeout: 30000 });
    await expect(visible(page, '.jp-nj-RuntimeList')).toBeHidden();

    // Cell 2's runtime menu: add a Bash runtime, which the cell is then put on.
    await page.notebook.selectCells(1);
    await badge(page, 1).click();
    const menu = page.locator('#jp-nj-cell-runtime-menu');
    await expect(menu).toBeVisible();
    await menu.locator('.lm-Menu-item', { hasText: 'Add Runtime' }).click();
    const dialog = page.locator('.jp-Dialog', { hasText: 'Add runtime' });
    await expect(dialog).toBeVisible();
    await dialog.locator('.jp-nj-AddRuntime-environment').selectOption('bash');
    await expect(dialog.locator('.jp-nj-AddRuntime-name')).toHaveValue('bash');
    await page.screenshot({
      path: path.join(IMAGES, 'compute-add-runtime.png')
    });
    await dialog.getByRole('button', { name: 'Add runtime' }).click();
    await expect(dialog).toBeHidden();
    await expect(badge(page, 1)).toHaveText('bash');
    await expect(badge(page, 1)).toHaveAttribute('data-known', 'true');
    // The third cell goes on the same runtime through the command the context menu runs.
    await page.notebook.selectCells(2);
    await runApp(page, 'jupyter-nj:set-cell-runtime', { name: 'bash' });
    await expect(badge(page, 2)).toHaveText('bash');
    // The fourth cell gets a new R runtime from its menu.
    await page.notebook.selectCells(3);
    await badge(page, 3).click();
    await expect(menu).toBeVisible();
    await menu.locator('.lm-Menu-item', { hasText: 'Add Runtime' }).click();
    await expect(dialog).toBeVisible();
    await dialog.locator('.jp-nj-AddRuntime-environment').selectOption('r');
    await expect(dialog.locator('.jp-nj-AddRuntime-name')).toHaveValue('r');
    await dialog.getByRole('button', { name: 'Add runtime' }).click();
    await expect(dialog).toBeHidden();
    await expect(badge(page, 3)).toHaveText(/^r/);
    await expect(badge(page, 3)).toHaveAttribute('data-runtime', 'r');
    // The Bash cells' editors highlight shell, the Python cell's Python.
    const mimes = await page.evaluate(() => {
      const panel = (window as any).jupyterapp.shell.currentWidget;
      return panel.content.widgets.map((cell: any) => cell.model.mimeType);
    });
    expect(mimes[1]).toBe(mimes[2]);
    expect(mimes[1]).not.toBe(mimes[0]);
    expect(mimes[1]).toMatch(/sh/);
    expect(mimes[3]).toMatch(/rsrc|x-r/);

    // Run all: each cell on its runtime, in order; the file crosses from Python to Bash.
    await runApp(page, 'notebook:run-all-cells');
    await expect
      .poll(() => outputOf(page, 2), { timeout: 90000 })
      .toContain('on bash');
    expect(await outputOf(page, 0)).toContain('rows written: 3');
    expect(await outputOf(page, 1)).toContain('lines: 4');
    await expect
      .poll(() => outputOf(page, 3), { timeout: 90000 })
      .toContain('R read 3 rows; sum of b: 12');

    // The toolbar lists the three runtimes, idle once the cells are done.
    const list = visible(page, '.jp-nj-RuntimeList');
    await expect(list).toBeVisible();
    await expect(
      list.locator('.jp-nj-RuntimeList-item[data-runtime="bash"]')
    ).toHaveAttribute('data-state', 'idle', { timeout: 30000 });
    await expect(
      list.locator('.jp-nj-RuntimeList-item[data-runtime="main"]')
    ).toHaveAttribute('data-state', 'idle');
    await expect(
      list.locator('.jp-nj-RuntimeList-item[data-runtime="r"]')
    ).toHaveAttribute('data-state', 'idle', { timeout: 30000 });
    await page.screenshot({ path: path.join(IMAGES, 'compute-runtimes.png') });

    // The Bash runtime is pinned to the version it started on, in the shared document.
    await expect
      .poll(
        () =>
          page.evaluate(() => {
            const panel = (window as any).jupyterapp.shell.currentWidget;
            return panel.content.model.getMetadata('nj')?.runtimes?.bash
              ?.version;
          }),
        { timeout: 15000 }
      )
      .toBe(bash.version);

    // The list's menu restarts the Bash runtime on its own.
    await list.locator('button').click();
    const listMenu = page.locator('#jp-nj-runtime-list-menu');
    await expect(listMenu).toBeVisible();
    await listMenu.locator('.lm-Menu-item', { hasText: /^bash/ }).hover();
    await page
      .locator('.jp-nj-RuntimeListMenu-runtime .lm-Menu-item', {
        hasText: 'Restart'
      })
      .click();
    // A cell run while it restarts waits for it (the server queues it), so no wait here.
    const bashItem = list.locator(
      '.jp-nj-RuntimeList-item[data-runtime="bash"]'
    );

    const counts = () =>
      page.evaluate(() => {
        const panel = (window as any).jupyterapp.shell.currentWidget;
        return panel.content.widgets.map(
          (cell: any) => cell.model.sharedModel.execution_count
        );
      });
    // A fresh Bash: the next Bash cell is its first.
    await page.notebook.selectCells(2);
    await runApp(page, 'notebook:run-cell');
    await expect.poll(counts, { timeout: 60000 }).toEqual([1, 1, 1, 1]);
    await expect(bashItem).toHaveAttribute('data-state', 'idle', {
      timeout: 30000
    });

    // Restart Kernel and Run All: every runtime restarts, and the outputs come back.
    // Not awaited in the page: the command waits for the dialog this test answers.
    await page.evaluate(() => {
      void (window as any).jupyterapp.commands.execute(
        'notebook:restart-run-all'
      );
    });
    const confirm = page.locator('.jp-Dialog');
    await confirm.locator('.jp-mod-accept').click();
    await expect.poll(counts, { timeout: 90000 }).toEqual([1, 1, 2, 1]);
    await expect
      .poll(() => outputOf(page, 2), { timeout: 30000 })
      .toContain('on bash');
    expect(await outputOf(page, 1)).toContain('lines: 4');
    await expect
      .poll(() => outputOf(page, 3), { timeout: 30000 })
      .toContain('R read 3 rows');

    // The cells' runtimes and the declared runtime are what the notebook saves.
    await expect
      .poll(
        async () =>
          (await getNotebook(request, file)).cells[1].metadata?.nj?.runtime,
        {
          timeout: 30000
        }
      )
      .toBe('bash');
    const saved = await getNotebook(request, file);
    expect(saved.metadata.nj.runtimes.bash).toEqual({
      environment: 'bash',
      version: bash.version,
      backend: 'local'
    });
    expect(saved.metadata.nj.runtimes.r).toEqual({
      environment: 'r',
      version: r.version,
      backend: 'local'
    });
    expect(saved.cells[3].metadata.nj.runtime).toBe('r');

    // Run > Run in the Background: headless, on fresh runtimes; the result opens from the
    // notification.
    await page.menu.clickMenuItem('Run>Run in the Background…');
    const runDialog = page.locator('.jp-Dialog', {
      hasText: 'Run in the Background'
    });
    await expect(runDialog).toBeVisible();
    await expect(
      runDialog.locator('.jp-nj-RunInBackground-output')
    ).toHaveValue(`${tmpPath}/several.run.ipynb`);
    await runDialog.getByRole('button', { name: 'Run' }).click();
    const done = page.locator('.Toastify__toast', {
      hasText: 'ran all 4 cells'
    });
    await expect(done).toBeVisible({ timeout: 120000 });
    await done.getByRole('button', { name: 'Open result' }).click();
    await expect(
      page.locator('.jp-NotebookPanel:not(.lm-mod-hidden)')
    ).toContainText('lines: 4', { timeout: 30000 });
    const result = await getNotebook(request, `${tmpPath}/several.run.ipynb`);
    const texts = result.cells.map((cell: any) =>
      cell.outputs.map((o: any) => [].concat(o.text ?? []).join('')).join('')
    );
    expect(texts[0]).toContain('rows written: 3');
    expect(texts[1]).toContain('lines: 4');
    expect(texts[2]).toContain('on bash');
    expect(texts[3]).toContain('R read 3 rows; sum of b: 12');
    expect(errors).toEqual([]);
  });
});
