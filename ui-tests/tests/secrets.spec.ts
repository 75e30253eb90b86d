import { expect, test } from '@jupyterlab/galata';
import type { APIRequestContext, Page } from '@playwright/test';
import * as path from 'path';

import { getNotebook, saveNotebook } from './helpers';

/**
 * The Secrets panel end to end, against the real server and its real store (the embedded
 * encrypted store; no Vault is configured for the browser tests): add a secret with a
 * description and sharing, see the server's validation errors, edit it without ever seeing the
 * value, attach it to a notebook and detach it, delete it. The value is typed once and must never
 * come back: not in any response the browser receives, not in the page.
 */

const IMAGES = path.resolve(__dirname, '../../docs/images');

function panel(page: Page) {
  return page.locator('#jp-nj-secrets');
}

function item(page: Page, name: string) {
  return panel(page).locator(`.jp-nj-Secret[data-name="${name}"]`);
}

async function fillForm(
  page: Page,
  fields: {
    name?: string;
    value?: string;
    description?: string;
    users?: string;
    groups?: string;
  }
) {
  const form = panel(page).locator('.jp-nj-SecretForm');
  for (const [key, text] of Object.entries(fields)) {
    if (text !== undefined) {
      await form.locator(`input[name="${key}"]`).fill(text);
    }
  }
  await form.locator('.jp-nj-SecretForm-save').click();
}

async function attachedOnDisk(request: APIRequestContext, file: string) {
  return (await getNotebook(request, file)).metadata?.nj?.secrets ?? [];
}

test.use({ autoGoto: true });

test.describe('jupyter-nj secrets', () => {
  test('add, edit, share, attach, detach and delete a secret; the value never comes back', async ({
    page,
    request,
    tmpPath
  }) => {
    // The embedded store is per user, not per server root: a unique name keeps runs apart.
    const suffix =
      `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`.toUpperCase();
    const name = `UI_TOKEN_${suffix}`;
    const value = `ui-secret-value-${suffix}-1`;
    const newValue = `ui-secret-value-${suffix}-2`;
    const seen: Promise<string>[] = [];
    page.on('response', response => {
      if (response.url().includes('/nj/api/secret')) {
        seen.push(response.text().catch(() => ''));
      }
    });
    const errors: string[] = [];
    page.on('pageerror', error => errors.push(error.message));
    const file = `${tmpPath}/secrets.ipynb`;

    try {
      await exercisePanel(page, request, file, name, value, newValue);
    } finally {
      // Leave the per-user store as it was, even when an assertion failed half-way.
      await request.delete(`/nj/api/secrets/${name}`);
    }

    // The value never reached the browser after it was typed, nor the page.
    const bodies = await Promise.all(seen);
    expect(bodies.length).toBeGreaterThan(5);
    for (const body of bodies) {
      expect(body).not.toContain(value);
      expect(body).not.toContain(newValue);
    }
    const html = await page.content();
    expect(html).not.toContain(value);
    expect(html).not.toContain(newValue);
    expect(errors).toEqual([]);
  });
});

async function exercisePanel(
  page: Page,
  request: APIRequestContext,
  file: string,
  name: string,
  value: string,
  newValue: string
): Promise<void> {
  await page.notebook.createNew('secrets.ipynb', { kernel: null });
  await saveNotebook(page);
  await page.locator('.jp-SideBar [data-id="jp-nj-secrets"]').click();
  await expect(panel(page)).toBeVisible();
  await expect(panel(page)).toHaveAttribute('data-nj-state', 'ready', {
    timeout: 30000
  });
  await expect(panel(page).locator('.jp-nj-SecretsPanel-info')).toContainText(
    'encrypted local store'
  );
  await expect(
    panel(page).locator('.jp-nj-SecretsPanel-notebook')
  ).toHaveAttribute('data-path', file);

  // Bad names: caught in the form, and the server's own rule (reserved names) shown as sent.
  await panel(page).locator('.jp-nj-SecretsPanel-add').click();
  const form = panel(page).locator('.jp-nj-SecretForm');
  await expect(form).toBeVisible();
  await expect(form.locator('input[name="value"]')).toHaveAttribute(
    'type',
    'password'
  );
  await fillForm(page, { name: '1BAD', value: 'x' });
  await expect(form.locator('.jp-nj-SecretForm-error')).toContainText(
    'letters, digits'
  );
  await fillForm(page, { name: 'PYTHONSTARTUP', value: 'x' });
  await expect(form.locator('.jp-nj-SecretForm-error')).toContainText(
    'is reserved'
  );

  // Add a secret with a description and sharing.
  await fillForm(page, {
    name,
    value,
    description: 'Token for the UI test',
    users: 'bob',
    groups: 'analysts, ops'
  });
  await expect(form).toBeHidden();
  await expect(item(page, name)).toBeVisible();
  await expect(
    item(page, name).locator('.jp-nj-Secret-description')
  ).toHaveText('Token for the UI test');
  await expect(item(page, name).locator('.jp-nj-Secret-meta')).toContainText(
    'users: bob; groups: analysts, ops'
  );
  let stored = await (await request.get(`/nj/api/secrets/${name}`)).json();
  expect(stored.shared_with).toEqual({
    users: ['bob'],
    groups: ['analysts', 'ops']
  });
  const firstVersion = stored.version;

  // Edit: the value field starts empty; leaving it empty keeps the value.
  await item(page, name).locator('.jp-nj-Secret-edit').click();
  await expect(form).toBeVisible();
  await expect(form.locator('input[name="name"]')).toHaveValue(name);
  await expect(form.locator('input[name="value"]')).toHaveValue('');
  await fillForm(page, { description: 'Rotated token', users: '' });
  await expect(
    item(page, name).locator('.jp-nj-Secret-description')
  ).toHaveText('Rotated token');
  stored = await (await request.get(`/nj/api/secrets/${name}`)).json();
  expect(stored.shared_with).toEqual({
    users: [],
    groups: ['analysts', 'ops']
  });
  expect(stored.version).toBe(firstVersion);
  // A new value is written (the store's version moves) without ever being read back.
  await item(page, name).locator('.jp-nj-Secret-edit').click();
  await fillForm(page, { value: newValue });
  await expect(form).toBeHidden();
  await expect
    .poll(
      async () =>
        (await (await request.get(`/nj/api/secrets/${name}`)).json()).version
    )
    .toBeGreaterThan(firstVersion);

  // Attach to the notebook by name: stored in metadata.nj.secrets of the saved file.
  await item(page, name).locator('.jp-nj-Secret-attach input').check();
  const chip = panel(page).locator(`.jp-nj-SecretChip[data-name="${name}"]`);
  await expect(chip).toHaveAttribute('data-status', 'ok');
  await expect
    .poll(() => attachedOnDisk(request, file), { timeout: 15000 })
    .toEqual([name]);
  // The open (real-time) document picks the attachment up from the file.
  await expect
    .poll(
      () =>
        page.evaluate(() => {
          const panel = (window as any).jupyterapp.shell.currentWidget;
          return panel.content.model.getMetadata('nj')?.secrets ?? [];
        }),
      { timeout: 15000 }
    )
    .toEqual([name]);
  await expect
    .poll(
      async () =>
        (await (await request.get(`/nj/api/secret-attachments/${file}`)).json())
          .secrets
    )
    .toEqual([{ name, status: 'ok' }]);
  await panel(page).screenshot({ path: `${IMAGES}/secrets-panel.png` });

  // Detach from the chip.
  await chip.locator('.jp-nj-SecretChip-detach').click();
  await expect(chip).toHaveCount(0);
  await expect(
    item(page, name).locator('.jp-nj-Secret-attach input')
  ).not.toBeChecked();
  await expect.poll(() => attachedOnDisk(request, file)).toEqual([]);

  // A collaborator in the same room attaches it (here: the edit of the shared model their
  // browser would make): the panel follows the notebook's metadata, with no refresh.
  await page.evaluate(secretName => {
    const model = (window as any).jupyterapp.shell.currentWidget.content.model;
    const nj = model.getMetadata('nj') ?? {};
    model.setMetadata('nj', { ...nj, secrets: [secretName] });
  }, name);
  await expect(chip).toHaveAttribute('data-status', 'ok');
  await chip.locator('.jp-nj-SecretChip-detach').click();
  await expect(chip).toHaveCount(0);
  await expect.poll(() => attachedOnDisk(request, file)).toEqual([]);

  // Delete, after confirming.
  await item(page, name).locator('.jp-nj-Secret-delete').click();
  await page.locator('.jp-Dialog .jp-mod-accept').click();
  await expect(item(page, name)).toHaveCount(0);
  expect((await request.get(`/nj/api/secrets/${name}`)).status()).toBe(404);
}
