import { expect, test } from '@playwright/test';
import type { Browser, Page } from '@playwright/test';
import * as path from 'path';

/**
 * The Share dialog under a real JupyterHub (scripts/hub-ui-tests.py starts it): alice shares
 * x.ipynb with bob by name, choosing him from the hub's users; bob opens it in his own browser
 * through the hub's Authorize page; alice revokes it and bob is refused.
 */

const IMAGES = path.resolve(__dirname, '../../docs/images');
const PASSWORD = process.env.NJ_HUB_PASSWORD ?? '';

async function logIn(browser: Browser, user: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto('/hub/login');
  await page.locator('input[name="username"]').fill(user);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.locator('input[type="submit"], button[type="submit"]').click();
  await page.waitForURL(/\/(hub\/(home|spawn)|user\/)/);
  return page;
}

/** Open a lab URL, confirming the hub's Authorize page if it asks. */
async function openLab(page: Page, url: string): Promise<void> {
  await page.goto(url);
  if (page.url().includes('/hub/api/oauth2/authorize')) {
    await page.getByRole('button', { name: 'Authorize' }).click();
  }
  await expect(page.locator('.jp-NotebookPanel')).toBeVisible({
    timeout: 60000
  });
}

test('alice shares a notebook with bob by name; revoking it ends his access', async ({
  browser
}) => {
  test.skip(!process.env.NJ_HUB_URL, 'needs a hub: scripts/hub-ui-tests.py');
  const alice = await logIn(browser, 'alice');
  await openLab(alice, '/user/alice/lab/tree/x.ipynb');
  // Her kernel is up, so no kernel dialog can open over the menus from here on.
  await expect(alice.locator('#jp-main-statusbar')).toContainText(
    'Python 3 (ipykernel) | Idle',
    { timeout: 60000 }
  );
  await expect(alice.locator('.jp-Dialog')).toHaveCount(0);

  await alice.locator('.lm-MenuBar-item', { hasText: 'File' }).click();
  await alice
    .locator('.lm-Menu-item', { hasText: 'Share Draft Link…' })
    .click();
  const dialog = alice.locator('.jp-Dialog', { hasText: 'Share x.ipynb' });
  const named = dialog.locator('.jp-nj-Share-named');
  await expect(named).toHaveAttribute('data-state', 'ready');
  // The hub's names are offered as the name is typed.
  const options = named.locator('datalist option');
  await expect(options).toHaveCount(3);
  expect(
    await options.evaluateAll(nodes =>
      nodes.map(node => (node as HTMLOptionElement).value)
    )
  ).toEqual(['alice', 'bob', 'carol']);
  await named.locator('.jp-nj-Share-kind').selectOption('group');
  await expect(named.locator('datalist option')).toHaveCount(1);
  await expect(named.locator('.jp-nj-Share-groupNote')).toBeVisible();
  await named.locator('.jp-nj-Share-kind').selectOption('user');
  await expect(named.locator('.jp-nj-Share-groupNote')).toBeHidden();
  await named.locator('.jp-nj-Share-name').fill('bob');
  await named.locator('.jp-nj-Share-shareWith').click();
  const row = dialog.locator(
    '.jp-nj-Share-link[data-shared-with="with user bob"]'
  );
  await expect(row).toContainText('co-edit with user bob');
  await alice.screenshot({ path: path.join(IMAGES, 'sharing-hub-user.png') });

  const bob = await logIn(browser, 'bob');
  await openLab(bob, '/user/alice/lab/tree/x.ipynb');
  await expect(bob.locator('.jp-NotebookPanel .jp-Cell').first()).toContainText(
    'alice-x-marker'
  );
  const before = await bob.request.get('/user/alice/api/contents/x.ipynb');
  expect(before.status()).toBe(200);
  const other = await bob.request.get('/user/alice/api/contents/');
  expect(other.status()).toBe(403);

  await row.getByRole('button', { name: 'Revoke' }).click();
  await expect(row).toHaveCount(0);
  const after = await bob.request.get('/user/alice/api/contents/x.ipynb');
  expect(after.status()).toBe(403);
});
