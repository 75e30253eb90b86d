import { expect, test } from '@jupyterlab/galata';
import * as path from 'path';

import { buildLocal, putNotebook, runtimeControl } from './helpers';

/**
 * The GPU menu of a runtime, end to end against the real server on a machine without a GPU:
 * the menu shows the host's inventory (here "no NVIDIA driver on this host" and what to do),
 * asking for a GPU gets a clear answer and leaves the runtime running, and the status panel
 * says the same. Nothing of our API is mocked.
 */

const IMAGES = path.resolve(__dirname, '../../docs/images');

const control = runtimeControl;

test.use({ autoGoto: true });

test.describe('jupyter-nj GPUs', () => {
  test('the GPU menu shows the inventory and asking for a GPU gets a clear answer', async ({
    page,
    request,
    tmpPath
  }) => {
    test.setTimeout(180000);
    const errors: string[] = [];
    page.on('pageerror', error => errors.push(error.message));
    const built = await buildLocal(request, 'python');
    await putNotebook(
      request,
      `${tmpPath}/gpu.ipynb`,
      [
        {
          cell_type: 'code',
          source:
            "import os; print(repr(os.environ.get('CUDA_VISIBLE_DEVICES')))",
          metadata: {},
          outputs: [],
          execution_count: null
        }
      ],
      {
        kernelspec: {
          name: 'nj-python',
          display_name: 'Python',
          language: 'python'
        },
        nj: {
          runtimes: {
            main: {
              environment: 'python',
              version: built.version,
              backend: 'local'
            }
          }
        }
      }
    );
    await page.filebrowser.open(`${tmpPath}/gpu.ipynb`);
    await page.sidebar.close('left');
    await expect(control(page)).toHaveAttribute('data-nj-state', 'ready', {
      timeout: 60000
    });

    // The runtime menu has a GPU submenu with the host's inventory.
    await control(page).locator('button').click();
    const menu = page.locator('#jp-nj-runtime-menu');
    await expect(menu).toBeVisible();
    await menu.locator('.lm-Menu-item', { hasText: /^GPU$/ }).hover();
    const gpuMenu = page.locator('.jp-nj-GpuMenu');
    await expect(gpuMenu).toBeVisible();
    await expect(gpuMenu).toContainText(
      'No GPU: no NVIDIA driver on this host'
    );
    await expect(gpuMenu).toContainText('nvidia-smi');
    await expect(
      gpuMenu.locator('.lm-Menu-item', { hasText: /^No GPU$/ })
    ).toHaveClass(/lm-mod-toggled/);
    await page.screenshot({ path: path.join(IMAGES, 'gpu-menu.png') });

    // Asking for one: a clear answer, and the runtime keeps running without a GPU.
    await gpuMenu.locator('.lm-Menu-item', { hasText: /^1 GPU$/ }).click();
    const answer = page.locator('.Toastify__toast', {
      hasText: 'no NVIDIA driver on this host'
    });
    await expect(answer).toBeVisible({ timeout: 30000 });
    await expect(answer).toContainText("Runtime 'main' cannot have a GPU");
    await expect(control(page)).toHaveAttribute('data-nj-state', 'ready');
    await page.notebook.runCell(0, true);
    expect(
      ((await page.notebook.getCellTextOutput(0)) ?? []).join('')
    ).toContain("''");

    // The status panel says the same.
    await page.locator('#jp-nj-status').click();
    const panel = page.locator('.jp-nj-StatusPanel');
    await expect(panel.locator('[data-backend="gpus"]')).toContainText(
      'no NVIDIA driver on this host'
    );

    expect(errors.filter(e => /nj|jupyter-nj/i.test(e))).toEqual([]);
  });
});
