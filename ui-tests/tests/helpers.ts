import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';
import type { APIRequestContext, Page } from '@playwright/test';

/**
 * Helpers the specs share: files written the way no browser writes them (a save from another
 * client, a file set up before the test), and a save that answers what a user would.
 */

/**
 * Save the current notebook as a user does (Ctrl-S). In a real-time room the server also saves
 * the room on its own, and JupyterLab may then ask whether to overwrite a file "changed on disk"
 * (the same content): answer it as a user would, so the explicit save goes through. (galata's
 * own `page.notebook.save()` waits for the save command, which waits for that dialog: forever.)
 */
export async function saveNotebook(
  page: IJupyterLabPageFixture
): Promise<void> {
  let done = false;
  const saving = page.notebook.save().finally(() => {
    done = true;
  });
  const changedOnDisk = page.locator('.jp-Dialog', {
    hasText: 'has changed on disk'
  });
  while (!done) {
    if ((await changedOnDisk.count()) > 0) {
      await changedOnDisk.getByRole('button', { name: 'Overwrite' }).click();
    }
    await page.waitForTimeout(200);
  }
  await saving;
}

/** Write a notebook through the contents API, with `metadata` over a python3 kernelspec. */
export async function putNotebook(
  request: APIRequestContext,
  file: string,
  cells: any[],
  metadata: Record<string, unknown> = {}
): Promise<void> {
  const response = await request.put(`/api/contents/${file}`, {
    data: {
      type: 'notebook',
      format: 'json',
      content: {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {
          kernelspec: {
            name: 'python3',
            display_name: 'Python 3',
            language: 'python'
          },
          language_info: { name: 'python' },
          ...metadata
        },
        cells
      }
    }
  });
  expect(response.ok()).toBe(true);
}

/**
 * Build an environment's newest definition with the local (uv) backend; answers the new version
 * (`version`, `short`, ...). A cold build can take a minute or two.
 */
export async function buildLocal(
  request: APIRequestContext,
  name: string,
  timeout = 120000
): Promise<any> {
  const response = await request.post(`/nj/api/environments/${name}/build`, {
    data: { backend: 'local' },
    timeout
  });
  expect(response.status()).toBe(201);
  return response.json();
}

/** Write a text file through the contents API. */
export async function putText(
  request: APIRequestContext,
  file: string,
  content: string
): Promise<void> {
  const response = await request.put(`/api/contents/${file}`, {
    data: { type: 'file', format: 'text', content }
  });
  expect(response.ok()).toBe(true);
}

/** Make a folder through the contents API. */
export async function putDirectory(
  request: APIRequestContext,
  dir: string
): Promise<void> {
  const response = await request.put(`/api/contents/${dir}`, {
    data: { type: 'directory' }
  });
  expect(response.ok()).toBe(true);
}

/**
 * A notebook as saved on the server. A real-time room saves by rewriting the file in place
 * (jupyter_server keeps a backup meanwhile), so a read can catch it half-written and get a 400:
 * such a read is tried again, for a few seconds at most.
 */
export async function getNotebook(
  request: APIRequestContext,
  file: string
): Promise<any> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const response = await request.get(
      `/api/contents/${file}?type=notebook&content=1`
    );
    if (response.status() !== 400 || Date.now() > deadline) {
      expect(response.status()).toBe(200);
      return (await response.json()).content;
    }
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}

/** The runtime control in the toolbar of the notebook shown. */
export function runtimeControl(page: Page) {
  return page.locator(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-nj-RuntimeControl'
  );
}
