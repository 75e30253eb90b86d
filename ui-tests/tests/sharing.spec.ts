import { expect, test } from '@jupyterlab/galata';
import type { APIRequestContext, Page } from '@playwright/test';
import * as fs from 'fs/promises';

import { putNotebook, putText } from './helpers';

/**
 * Import and export end to end, against the real server and jupytext: a Markdown file becomes a
 * notebook from the file browser's context menu, an older version downloads as Markdown from the
 * History panel, and File > Export downloads the notebook in the format picked.
 */

const MARKDOWN = `---
jupyter:
  kernelspec:
    display_name: Python 3
    language: python
    name: python3
---

# Imported notes

\`\`\`python
x = 1 + 1
\`\`\`
`;

function codeCell(id: string, source: string) {
  return {
    id,
    cell_type: 'code',
    metadata: {},
    source,
    execution_count: null,
    outputs: []
  };
}

async function versionIds(
  request: APIRequestContext,
  file: string
): Promise<string[]> {
  const response = await request.get(`/nj/api/history/${file}?limit=100`);
  if (response.status() !== 200) {
    return [];
  }
  return (await response.json()).versions.map((v: any) => v.id);
}

async function waitForVersions(
  request: APIRequestContext,
  file: string,
  count: number
): Promise<string[]> {
  let ids: string[] = [];
  await expect
    .poll(
      async () => {
        ids = await versionIds(request, file);
        return ids.length;
      },
      { timeout: 60000, intervals: [500, 1000, 2000] }
    )
    .toBeGreaterThanOrEqual(count);
  return ids;
}

async function openHistoryPanel(page: Page): Promise<void> {
  const panel = page.locator('#jp-nj-history');
  if (!(await panel.isVisible())) {
    await page.locator('.jp-SideBar [data-id="jp-nj-history"]').click();
  }
  await expect(panel).toBeVisible();
}

test.use({ autoGoto: true });

test.describe('jupyter-nj import and export', () => {
  test('import a Markdown file as a notebook from the file browser', async ({
    page,
    request,
    tmpPath
  }) => {
    await putText(request, `${tmpPath}/notes.md`, MARKDOWN);
    await page.filebrowser.refresh();
    const item = page.locator('.jp-DirListing-item', { hasText: 'notes.md' });
    await expect(item).toBeVisible();
    await item.click({ button: 'right' });
    await page
      .locator('.lm-Menu-item', { hasText: 'Import as Notebook' })
      .click();

    // The new notebook opens, with the Markdown's cells.
    await expect(
      page.locator('.lm-TabBar-tab', { hasText: 'notes.ipynb' })
    ).toBeVisible();
    await expect(
      page.locator('.jp-NotebookPanel .jp-Cell').filter({ hasText: 'x = 1 + 1' })
    ).toHaveCount(1);
    // The import was a save like any other: history has it.
    await waitForVersions(request, `${tmpPath}/notes.ipynb`, 1);

    // A second import asks before replacing the notebook.
    await item.click({ button: 'right' });
    await page
      .locator('.lm-Menu-item', { hasText: 'Import as Notebook' })
      .click();
    const dialog = page.locator('.jp-Dialog', {
      hasText: 'Replace the notebook?'
    });
    await expect(dialog).toBeVisible();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toHaveCount(0);
  });

  test('download an older version as Markdown from the History panel, and the notebook from File > Export', async ({
    page,
    request,
    tmpPath
  }) => {
    const file = `${tmpPath}/report.ipynb`;
    await putNotebook(request, file, [codeCell('c1', 'draft = "first draft"')]);
    const [first] = await waitForVersions(request, file, 1);
    await putNotebook(request, file, [codeCell('c1', 'draft = "final text"')]);
    await waitForVersions(request, file, 2);

    await page.filebrowser.refresh();
    await page.notebook.openByPath(file);
    await page.notebook.activate('report.ipynb');
    await openHistoryPanel(page);
    const row = page.locator(
      `#jp-nj-history .jp-nj-HistoryVersion[data-version-id="${first}"]`
    );
    await expect(row).toBeVisible();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      row.locator('[data-action="download"]').click()
    ]);
    expect(download.suggestedFilename()).toBe(
      `report-${first.slice(0, 8)}.md`
    );
    const text = await fs.readFile((await download.path()) as string, 'utf-8');
    expect(text).toContain('first draft');
    expect(text).not.toContain('final text');

    // File > Export Notebook as Markdown (jupyter-nj)…, as a percent script: the file as it is now.
    await page.notebook.activate('report.ipynb');
    await page.menu.open('File');
    await page
      .locator('.lm-Menu-item', {
        hasText: 'Export Notebook as Markdown (jupyter-nj)…'
      })
      .click();
    const picker = page.locator('.jp-Dialog');
    await expect(picker).toBeVisible();
    await picker.locator('select').selectOption({
      label: 'Python script (percent cells)'
    });
    const [script] = await Promise.all([
      page.waitForEvent('download'),
      picker.getByRole('button', { name: 'Download' }).click()
    ]);
    expect(script.suggestedFilename()).toBe('report.py');
    const source = await fs.readFile((await script.path()) as string, 'utf-8');
    expect(source).toContain('# %%');
    expect(source).toContain('final text');
  });
});
