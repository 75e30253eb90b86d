import { expect, test } from '@jupyterlab/galata';
import * as path from 'path';

import { putNotebook, saveNotebook } from './helpers';

/**
 * Draft links end to end: File > Share Draft Link… creates a link, a fresh browser context (no
 * session, no cookie) opens it and sees the notebook as saved, the author saves a change and the
 * page follows, and after Revoke the page answers that the link no longer works.
 */

const IMAGES = path.resolve(__dirname, '../../docs/images');

function cellWithOutput(id: string, source: string, text: string) {
  return {
    id,
    cell_type: 'code',
    metadata: {},
    source,
    execution_count: 1,
    outputs: [{ output_type: 'stream', name: 'stdout', text }]
  };
}

test.describe('jupyter-nj draft links', () => {
  test('share a draft, open it logged out, follow a save, revoke it', async ({
    page,
    request,
    browser,
    tmpPath
  }) => {
    const file = `${tmpPath}/draft.ipynb`;
    await putNotebook(request, file, [
      {
        id: 'm1',
        cell_type: 'markdown',
        metadata: {},
        source: '# First heading'
      },
      cellWithOutput('c1', 'print("hello")', 'first result\n')
    ]);
    await page.filebrowser.refresh();
    await page.notebook.openByPath(file);
    await page.notebook.activate('draft.ipynb');

    await page.menu.open('File');
    await page
      .locator('.lm-Menu-item', { hasText: 'Share Draft Link…' })
      .click();
    const dialog = page.locator('.jp-Dialog', { hasText: 'Share draft.ipynb' });
    await expect(dialog).toBeVisible();
    await expect(dialog.locator('.jp-nj-Share-none')).toBeVisible();
    await dialog
      .locator('.jp-nj-Share-expiry')
      .selectOption({ label: '7 days' });
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const field = dialog.locator('.jp-nj-Share-url');
    await expect(field).toHaveValue(/\/nj\/l\/[A-Za-z0-9_-]{32}$/);
    const url = await field.inputValue();
    await expect(dialog.locator('.jp-nj-Share-link')).toHaveCount(1);
    await expect(dialog.locator('.jp-nj-Share-link')).toContainText('expires');
    await page.screenshot({
      path: path.join(IMAGES, 'sharing-draft-link.png')
    });

    // A stranger: a new browser context has no session and no cookie of this server.
    const stranger = await browser.newContext();
    try {
      const view = await stranger.newPage();
      const first = await view.goto(url);
      expect(first?.status()).toBe(200);
      await expect(view.locator('body')).toContainText('first result');
      await expect(view.locator('.jp-nj-SharedBanner')).toContainText(
        'a draft shared by'
      );
      expect(first?.headers()['content-security-policy']).toContain('sandbox');

      // The author closes the dialog, edits the notebook and saves: the open page follows (it
      // reloads itself every few seconds; here it is reloaded until it shows the change).
      await dialog.getByRole('button', { name: 'Done' }).click();
      await expect(dialog).toHaveCount(0);
      await page.notebook.activate('draft.ipynb');
      await page.notebook.setCell(0, 'markdown', '# Second heading');
      await saveNotebook(page);
      await expect
        .poll(
          async () => {
            await view.reload();
            return view.locator('body').innerText();
          },
          { timeout: 30000 }
        )
        .toContain('Second heading');
      await expect(view.locator('body')).toContainText('first result');

      // Revoked from the same dialog: the next request answers that the link no longer works.
      await page.menu.open('File');
      await page
        .locator('.lm-Menu-item', { hasText: 'Share Draft Link…' })
        .click();
      await expect(dialog.locator('.jp-nj-Share-link')).toHaveCount(1);
      await dialog.getByRole('button', { name: 'Revoke' }).click();
      await expect(dialog.locator('.jp-nj-Share-none')).toBeVisible();
      const gone = await view.reload();
      expect(gone?.status()).toBe(410);
      await expect(view.locator('body')).toContainText(
        'This link no longer works'
      );
      await expect(view.locator('body')).not.toContainText('Second heading');
    } finally {
      await stranger.close();
    }
    await dialog.getByRole('button', { name: 'Done' }).click();
    await expect(dialog).toHaveCount(0);
  });

  test('an edit link opens the notebook in JupyterLab for another user', async ({
    page,
    request,
    tmpPath
  }) => {
    const file = `${tmpPath}/coedit.ipynb`;
    await putNotebook(request, file, [
      cellWithOutput('c1', 'print("together")', 'together\n')
    ]);
    await page.filebrowser.refresh();
    await page.notebook.openByPath(file);
    await page.notebook.activate('coedit.ipynb');
    await page.menu.open('File');
    await page
      .locator('.lm-Menu-item', { hasText: 'Share Draft Link…' })
      .click();
    const dialog = page.locator('.jp-Dialog', {
      hasText: 'Share coedit.ipynb'
    });
    await dialog.locator('.jp-nj-Share-access').selectOption('edit');
    await dialog.getByRole('button', { name: 'Create link' }).click();
    await expect(dialog.locator('.jp-nj-Share-created')).toContainText(
      'The edit link'
    );
    // Off a hub, the link is the notebook's own JupyterLab URL (a hub's is its share code).
    await expect(dialog.locator('.jp-nj-Share-url')).toHaveValue(
      new RegExp(`/lab/tree/${tmpPath}/coedit\\.ipynb$`)
    );
    await expect(dialog.locator('.jp-nj-Share-link')).toContainText(
      '(co-edit)'
    );
    const listed = await (
      await request.get(`/nj/api/links?path=${encodeURIComponent(file)}`)
    ).json();
    expect(listed.links.map((l: any) => [l.kind, l.run])).toEqual([
      ['edit', false]
    ]);
    await dialog.getByRole('button', { name: 'Revoke' }).click();
    await expect(dialog.locator('.jp-nj-Share-none')).toBeVisible();
    await dialog.getByRole('button', { name: 'Done' }).click();
  });
});
