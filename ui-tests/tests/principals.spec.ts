import { expect, test } from '@jupyterlab/galata';
import type { Page } from '@playwright/test';
import * as path from 'path';

/**
 * The names the server offers for sharing (`GET /nj/api/principals`), in embedded mode: galata's
 * server runs without a hub, so they are `NJApp.secrets_groups` (jupyter_server_test_config.py
 * configures `lab` and `analysts`), their members and the owner. The Secrets form offers them
 * as toggles beside free typing; the Share dialog says why sharing by name is not there.
 * tests/hub/test_named_shares.py covers the hub's side.
 */

const IMAGES = path.resolve(__dirname, '../../docs/images');

function panel(page: Page) {
  return page.locator('#jp-nj-secrets');
}

test.use({ autoGoto: true });

test.describe('jupyter-nj names to share with', () => {
  test('the Secrets form offers the configured groups and users', async ({
    page,
    request
  }) => {
    const suffix =
      `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`.toUpperCase();
    const name = `UI_GROUPS_${suffix}`;
    const errors: string[] = [];
    page.on('pageerror', error => errors.push(error.message));

    await page.locator('.jp-SideBar [data-id="jp-nj-secrets"]').click();
    await expect(panel(page)).toHaveAttribute('data-nj-state', 'ready', {
      timeout: 30000
    });
    await panel(page).locator('.jp-nj-SecretsPanel-add').click();
    const form = panel(page).locator('.jp-nj-SecretForm');
    await expect(form).toHaveAttribute('data-choices', 'server');
    const groups = form.locator(
      '.jp-nj-SecretForm-choices[data-for="groups"] .jp-nj-SecretForm-choice'
    );
    await expect(groups).toHaveText(['analysts', 'lab']);
    const users = form.locator(
      '.jp-nj-SecretForm-choices[data-for="users"] .jp-nj-SecretForm-choice'
    );
    await expect(users.filter({ hasText: 'bob' })).toHaveCount(1);
    await expect(users.filter({ hasText: 'carol' })).toHaveCount(1);

    const groupsField = form.locator('input[name="groups"]');
    const lab = groups.filter({ hasText: 'lab' });
    await lab.click();
    await expect(groupsField).toHaveValue('lab');
    await expect(lab).toHaveAttribute('aria-pressed', 'true');
    await lab.click();
    await expect(groupsField).toHaveValue('');
    await expect(lab).toHaveAttribute('aria-pressed', 'false');
    // Free typing still works, and the toggles follow it.
    await groupsField.fill('ops');
    await groups.filter({ hasText: 'lab' }).click();
    await expect(groupsField).toHaveValue('ops, lab');
    await users.filter({ hasText: 'bob' }).click();
    await form.locator('input[name="name"]').fill(name);
    await form.locator('input[name="value"]').fill(`value-${suffix}`);
    await page.screenshot({
      path: path.join(IMAGES, 'secrets-share-choices.png')
    });

    try {
      await form.locator('.jp-nj-SecretForm-save').click();
      const row = panel(page).locator(`.jp-nj-Secret[data-name="${name}"]`);
      await expect(row.locator('.jp-nj-Secret-meta')).toContainText(
        'users: bob; groups: lab, ops'
      );
    } finally {
      await request.delete(`/nj/api/secrets/${name}`);
    }
    expect(errors).toEqual([]);
  });

  test('the Share dialog says sharing by name needs JupyterHub', async ({
    page,
    tmpPath
  }) => {
    await page.notebook.createNew('named.ipynb', { kernel: null });
    await page.notebook.save();
    await page.menu.open('File');
    await page
      .locator('.lm-Menu-item', { hasText: 'Share Draft Link…' })
      .click();
    const dialog = page.locator('.jp-Dialog', { hasText: 'Share named.ipynb' });
    await expect(dialog).toBeVisible();
    const named = dialog.locator('.jp-nj-Share-named');
    await expect(named).toHaveAttribute('data-state', 'unavailable');
    await expect(named).toContainText('needs JupyterHub');
    await expect(dialog.locator('.jp-nj-Share-shareWith')).toHaveCount(0);
    expect(tmpPath).toBeTruthy();
  });
});
