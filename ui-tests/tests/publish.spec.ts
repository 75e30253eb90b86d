import { expect, test } from '@jupyterlab/galata';
import * as path from 'path';

import { buildLocal, getNotebook, putNotebook, saveNotebook } from './helpers';

/**
 * Publishing end to end: File > Publish… publishes a pinned notebook; a fresh browser context
 * (no session, no cookie) opens the permanent URL, sees the page and downloads the notebook; the
 * author edits the notebook and the published page stays as it was; from the page, the other
 * context remixes the notebook, lands in JupyterLab with the copy, runs it on the same
 * environment version and changes it, while the original stays as it was. (galata's server has
 * no login, so the second context is another browser, not another account: a second account
 * remixing is tests/sharing/test_publishing.py, with a token per user.)
 */

const IMAGES = path.resolve(__dirname, '../../docs/images');

test.use({ autoGoto: true });

test.describe('jupyter-nj publishing', () => {
  test('publish, read it logged out, edit, remix it from the page and run the copy', async ({
    page,
    request,
    browser,
    tmpPath
  }) => {
    test.setTimeout(240000);
    const built = await buildLocal(request, 'python');
    const pin = {
      environment: 'python',
      version: built.version,
      backend: 'local'
    };
    const file = `${tmpPath}/weather.ipynb`;
    await putNotebook(
      request,
      file,
      [
        {
          id: 'title',
          cell_type: 'markdown',
          metadata: {},
          source: '# Weather Report 2026'
        },
        {
          id: 'calc',
          cell_type: 'code',
          metadata: {},
          source: "print('rain', 6 * 7)",
          execution_count: 1,
          outputs: [
            { output_type: 'stream', name: 'stdout', text: 'rain 42\n' }
          ]
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
    await page.filebrowser.refresh();
    await page.notebook.openByPath(file);
    await page.notebook.activate('weather.ipynb');
    // The author works with a side panel open; the layout is saved on the server, and the reader's
    // JupyterLab below starts from it.
    await page.sidebar.open('right');

    await page.menu.open('File');
    await page.locator('.lm-Menu-item', { hasText: 'Publish…' }).click();
    const dialog = page.locator('.jp-Dialog', {
      hasText: 'Publish weather.ipynb'
    });
    await expect(dialog).toBeVisible();
    await expect(dialog.locator('.jp-nj-Publish-slug')).toHaveValue(
      'weather-report-2026'
    );
    await expect(dialog.locator('.jp-nj-Share-none')).toBeVisible();
    await dialog.locator('.jp-nj-Publish-submit').click();
    const field = dialog.locator('.jp-nj-Publish-url');
    await expect(field).toHaveValue(/\/nj\/p\/[^/]+\/weather-report-2026\/1$/, {
      timeout: 60000
    });
    const url = await field.inputValue();
    await expect(dialog.locator('.jp-nj-Publish-edition')).toHaveCount(1);
    await page.screenshot({ path: path.join(IMAGES, 'sharing-publish.png') });
    await dialog.getByRole('button', { name: 'Done' }).click();
    await expect(dialog).toHaveCount(0);

    // A reader: a new browser context has no session and no cookie of this server.
    // Wide enough that the notebook toolbar shows the runtime control, not its overflow menu.
    const reader = await browser.newContext({
      acceptDownloads: true,
      viewport: { width: 1920, height: 1000 }
    });
    try {
      const view = await reader.newPage();
      const first = await view.goto(url);
      expect(first?.status()).toBe(200);
      expect(first?.headers()['content-security-policy']).toContain('sandbox');
      const header = view.locator('.jp-nj-Published');
      await expect(header).toContainText('Weather Report 2026');
      await expect(header).toContainText('Published by');
      await expect(header).toContainText('Runtime main');
      await expect(header).toContainText(built.short);
      await expect(view.locator('body')).toContainText('rain 42');
      await view.screenshot({
        path: path.join(IMAGES, 'sharing-published-page.png')
      });
      const [download] = await Promise.all([
        view.waitForEvent('download'),
        view.locator('a', { hasText: 'notebook (.ipynb)' }).click()
      ]);
      expect(download.suggestedFilename()).toBe(
        'weather-report-2026-1-notebook.ipynb'
      );

      // The author edits and saves: the published edition does not change.
      await page.notebook.setCell(0, 'markdown', '# Weather Report, edited');
      await saveNotebook(page);
      await expect
        .poll(async () => (await getNotebook(request, file)).cells[0].source)
        .toContain('edited');
      await view.reload();
      await expect(header).toContainText('Weather Report 2026');
      await expect(view.locator('body')).not.toContainText('edited');

      // Remix from the page: the copy lands in JupyterLab, runs on the same version.
      await view.locator('a', { hasText: 'Remix' }).click();
      await expect(view.locator('h1')).toContainText(
        'Remix Weather Report 2026'
      );
      const copy = `${tmpPath}/weather-mine.ipynb`;
      await view.locator('input[name="to"]').fill(copy);
      await view.getByRole('button', { name: 'Remix' }).click();
      await view.waitForURL(/\/lab\/tree\//, { timeout: 60000 });
      // This browser gets the server's saved layout (other tests may have left a side panel
      // open there): collapse the side panels, so the notebook toolbar shows the runtime control
      // rather than its overflow menu.
      await expect(view.locator('.jp-NotebookPanel')).toBeVisible({
        timeout: 60000
      });
      for (const side of ['left', 'right']) {
        const open = view.locator(
          `.jp-SideBar.jp-mod-${side} .lm-TabBar-tab.lm-mod-current`
        );
        if ((await open.count()) > 0) {
          await open.first().click();
        }
      }
      const cell = view
        .locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')
        .first();
      await expect(cell).toBeVisible({ timeout: 60000 });
      const control = view.locator(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-nj-RuntimeControl'
      );
      await expect(control).toHaveAttribute('data-version', built.version, {
        timeout: 90000
      });
      await cell.locator('.cm-content').click();
      await view.keyboard.press('End');
      await view.keyboard.type("\nprint('mine')");
      await view.keyboard.press('Shift+Enter');
      await expect(cell.locator('.jp-OutputArea-output')).toContainText(
        'mine',
        {
          timeout: 90000
        }
      );
      await expect(cell.locator('.jp-OutputArea-output')).toContainText(
        'rain 42'
      );
      await view.keyboard.press('Control+s');
      await expect
        .poll(
          async () => JSON.stringify((await getNotebook(request, copy)).cells),
          {
            timeout: 30000
          }
        )
        .toContain("print('mine')");
      const remixed = await getNotebook(request, copy);
      expect(remixed.metadata.nj.runtimes.main).toEqual(pin);
      expect(remixed.metadata.nj.remix.publication).toContain(
        '/weather-report-2026/1'
      );

      // The original and the publication stay as they were.
      const original = await getNotebook(request, file);
      expect(JSON.stringify(original.cells)).not.toContain('mine');
      await view.goto(url);
      await expect(view.locator('body')).toContainText('rain 42');
      await expect(view.locator('body')).not.toContainText('mine');
    } finally {
      await reader.close();
    }
  });
});
