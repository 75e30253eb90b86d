import { expect, galata, test } from '@jupyterlab/galata';
import * as path from 'path';

// Capture the console from the very first page load, so activation errors are seen.
test.use({ autoGoto: false });

test.describe('jupyter-nj status', () => {
  test('the plugin activates without console errors and shows live backends', async ({
    page
  }) => {
    const errors: string[] = [];
    page.on('console', message => {
      if (message.type() === 'error') {
        errors.push(message.text());
      }
    });
    page.on('pageerror', error => errors.push(error.message));

    await page.goto();

    const item = page.locator('#jp-nj-status');
    await expect(item).toBeVisible();
    await expect(item).toHaveAttribute('data-nj-status', 'ready', {
      timeout: 30000
    });
    await expect(item).toContainText(/nj \d+\.\d+\.\d+/);
    // The Docker engine is running for the test suite, and the history store is writable.
    await expect(
      item.locator('[data-backend="docker"][data-live="true"]')
    ).toHaveCount(1);
    await expect(
      item.locator('[data-backend="history"][data-live="true"]')
    ).toHaveCount(1);

    await item.click();
    const panel = page.locator('.jp-nj-StatusPanel');
    await expect(panel).toBeVisible();
    await expect(panel.locator('[data-backend="docker"]')).toContainText(
      'Docker engine: live'
    );
    // Vault is not configured in this run: the panel says what to do about it.
    await expect(panel.locator('[data-backend="vault"]')).toContainText(
      'NJApp.vault_url'
    );

    await page.screenshot({
      path: path.resolve(__dirname, '../../docs/images/status-bar.png')
    });

    const ours = errors.filter(e => /nj|jupyter-nj/i.test(e));
    expect(ours).toEqual([]);
    // No console errors at all while JupyterLab and the plugin activated.
    expect(errors).toEqual([]);
  });

  test('the command palette opens the status panel', async ({ page }) => {
    await page.goto();
    await expect(page.locator('#jp-nj-status')).toHaveAttribute(
      'data-nj-status',
      'ready',
      { timeout: 30000 }
    );
    await page.keyboard.press('Control+Shift+C');
    await page.locator('.lm-CommandPalette-input').fill('jupyter-nj: Show');
    await page.keyboard.press('Enter');
    await expect(page.locator('.jp-nj-StatusPanel')).toBeVisible();
  });
});

// galata is imported for helpers used by later specs; keep the import used.
void galata;
