import { expect, test } from '@jupyterlab/galata';
import type { APIRequestContext, Page } from '@playwright/test';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import {
  buildLocal,
  getNotebook,
  putDirectory,
  putNotebook,
  putText
} from './helpers';

/**
 * The Runtimes UI end to end, against the real server: the toolbar's runtime control picks an
 * environment (pinning the notebook and starting its kernel on that version), a package
 * installed from a cell is kept by "Save environment", and after a restart the notebook runs the
 * saved version with the package present. The Environments panel lists environments and
 * versions, builds one, and shows a failed build with its log. Nothing of our API is mocked.
 *
 * The local (uv venv) backend keeps these tests fast; the Docker backend goes through the same
 * control and the same REST calls (covered by the server's pytest suite against a real engine).
 */

const IMAGES = path.resolve(__dirname, '../../docs/images');

/** A cell that writes a tiny wheel into a folder `wheels`, so the install needs no index. */
const MAKE_WHEEL = [
  'import pathlib, tempfile, zipfile',
  "name = 'nj_ui_probe'",
  // A temporary folder: the notebook's folder is not always writable for a container's user.
  "wheels = pathlib.Path(tempfile.mkdtemp(prefix='nj-ui-wheels-'))",
  "z = zipfile.ZipFile(wheels / f'{name}-1.0-py3-none-any.whl', 'w')",
  "z.writestr(f'{name}/__init__.py', 'VALUE = 42\\n')",
  "z.writestr(f'{name}-1.0.dist-info/METADATA', f'Metadata-Version: 2.1\\nName: {name}\\nVersion: 1.0\\n')",
  "z.writestr(f'{name}-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\nGenerator: nj-ui\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')",
  "z.writestr(f'{name}-1.0.dist-info/RECORD', '')",
  'z.close()',
  "print('wheel ready')"
].join('\n');

/** `metadata.nj.runtimes.main` of a notebook as saved on the server. */
async function pinOnDisk(request: APIRequestContext, file: string) {
  return (
    (await getNotebook(request, file)).metadata?.nj?.runtimes?.main ?? null
  );
}

function control(page: Page) {
  return page.locator(
    '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-nj-RuntimeControl'
  );
}

async function openRuntimeMenu(page: Page) {
  await control(page).locator('button').click();
  const menu = page.locator('#jp-nj-runtime-menu');
  await expect(menu).toBeVisible();
  return menu;
}

async function runCell(page: Page, index: number, source: string) {
  await page.notebook.setCell(index, 'code', source);
  await page.notebook.runCell(index, true);
  return (await page.notebook.getCellTextOutput(index))?.join('') ?? '';
}

test.use({ autoGoto: true });

test.describe('jupyter-nj runtimes', () => {
  test('pick an environment, install a package, save the environment, restart pinned', async ({
    page,
    request,
    tmpPath
  }) => {
    test.setTimeout(180000);
    const errors: string[] = [];
    page.on('pageerror', error => errors.push(error.message));
    const built = await buildLocal(request, 'python');
    const file = `${tmpPath}/runtime.ipynb`;

    await page.notebook.createNew('runtime.ipynb', { kernel: 'python3' });
    // Room for the whole toolbar: a narrow one moves items into its overflow menu.
    await page.sidebar.close('left');
    // A plain ipykernel is not a pinned runtime: the control says so and offers the menu.
    await expect(control(page)).toHaveAttribute(
      'data-nj-state',
      /foreign|none/,
      {
        timeout: 30000
      }
    );

    let menu = await openRuntimeMenu(page);
    await menu.locator('.lm-Menu-item', { hasText: 'python — ' }).click();
    const submenu = page.locator('.jp-nj-RuntimeMenu').nth(1);
    await expect(submenu).toBeVisible();
    await expect(
      submenu.locator('.lm-Menu-item', { hasText: built.short })
    ).toHaveCount(2); // "Newest (…)" and the version itself
    await submenu.locator('.lm-Menu-item', { hasText: 'Newest' }).click();

    // The kernel now runs nj-python on the version just built, and the notebook is pinned to it.
    await expect(control(page)).toHaveAttribute('data-nj-state', 'ready', {
      timeout: 60000
    });
    await expect(control(page)).toHaveAttribute('data-version', built.version);
    await expect(control(page)).toHaveAttribute('data-backend', 'local');
    await expect(
      control(page).locator('.jp-nj-RuntimeControl-label')
    ).toHaveText(`python@${built.short}`);
    expect(await pinOnDisk(request, file)).toEqual({
      environment: 'python',
      version: built.version,
      backend: 'local'
    });

    // Install a package from a cell, with no magic beyond what users type.
    expect(await runCell(page, 0, MAKE_WHEEL)).toContain('wheel ready');
    await page.notebook.addCell('code', '');
    expect(
      await runCell(
        page,
        1,
        '%pip install --no-index --find-links {wheels} nj_ui_probe'
      )
    ).toMatch(/Successfully installed nj_ui_probe|nj-ui-probe/i);
    await page.notebook.addCell('code', '');
    expect(
      await runCell(page, 2, 'import nj_ui_probe; print(nj_ui_probe.VALUE)')
    ).toContain('42');

    // The runtime now differs from its version: the control says so, and closing asks first.
    await expect(control(page)).toHaveAttribute('data-nj-unsaved', 'true');
    await page.evaluate(() => {
      (window as any).jupyterapp.shell.currentWidget.close();
    });
    const ask = page.locator('.jp-Dialog', {
      hasText: 'Save the environment before closing?'
    });
    await expect(ask).toBeVisible();
    await expect(ask.locator('pre')).toContainText('%pip install');
    await ask.locator('.jp-mod-reject').click();
    await expect(ask).toBeHidden();
    await expect(control(page)).toBeVisible();

    // Save environment from the control's menu: the user is told the new version.
    menu = await openRuntimeMenu(page);
    await menu
      .locator('.lm-Menu-item', { hasText: 'Save environment' })
      .click();
    const toast = page.locator('.Toastify__toast', {
      hasText: 'Saved python@'
    });
    await expect(toast).toBeVisible({ timeout: 60000 });
    const message = (await toast.textContent()) ?? '';
    const saved = /Saved python@([0-9a-f]{12}) \(from ([0-9a-f]{12})\)/.exec(
      message
    );
    expect(saved).not.toBeNull();
    expect(saved![2]).toBe(built.short);
    const newShort = saved![1];
    expect(newShort).not.toBe(built.short);
    await expect(
      control(page).locator('.jp-nj-RuntimeControl-label')
    ).toHaveText(`python@${newShort}`, { timeout: 15000 });
    await expect(control(page)).toHaveAttribute('data-nj-unsaved', 'false');
    const newVersion = await control(page).getAttribute('data-version');
    expect(newVersion).toContain(newShort);
    await expect
      .poll(() => pinOnDisk(request, file), { timeout: 15000 })
      .toEqual({
        environment: 'python',
        version: newVersion,
        backend: 'local'
      });
    // The open (real-time) document picks the server's re-pin up from the file.
    await expect
      .poll(
        () =>
          page.evaluate(() => {
            const panel = (window as any).jupyterapp.shell.currentWidget;
            return panel.content.model.getMetadata('nj')?.runtimes?.main
              ?.version;
          }),
        { timeout: 15000 }
      )
      .toBe(newVersion);

    // The menu now lists both versions, the running one marked.
    menu = await openRuntimeMenu(page);
    await menu.locator('.lm-Menu-item', { hasText: 'python — ' }).click();
    const versionsMenu = page.locator('.jp-nj-RuntimeMenu').nth(1);
    await expect(
      versionsMenu.locator('.lm-Menu-item', { hasText: `${newShort} · local` })
    ).toContainText('running');
    const box = (await page
      .locator('.jp-NotebookPanel:not(.lm-mod-hidden)')
      .boundingBox())!;
    const menuBox = (await versionsMenu.boundingBox())!;
    await page.screenshot({
      path: `${IMAGES}/runtimes-toolbar.png`,
      clip: {
        x: Math.min(box.x, menuBox.x - 8),
        y: box.y,
        width: box.x + box.width - Math.min(box.x, menuBox.x - 8),
        height:
          Math.min(menuBox.y + menuBox.height + 12, box.y + box.height) - box.y
      }
    });
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');

    // The saved version records its parent and what changed.
    const listing = await (
      await request.get('/nj/api/environments/python')
    ).json();
    const record = listing.versions.find((v: any) => v.version === newVersion);
    expect(record.parent).toBe(built.version);
    expect(record.changes.join('\n')).toContain('nj-ui-probe');

    // Restart: the notebook comes back on the saved version, with the package present.
    await page.evaluate(async () => {
      const app = (window as any).jupyterapp;
      const panel = app.shell.currentWidget;
      await panel.sessionContext.restartKernel();
    });
    await expect(control(page)).toHaveAttribute('data-version', newVersion!, {
      timeout: 60000
    });
    await page.notebook.addCell('code', '');
    expect(
      await runCell(
        page,
        3,
        'import nj_ui_probe, sys; print(nj_ui_probe.VALUE, sys.prefix)'
      )
    ).toContain('42');
    expect(errors).toEqual([]);
  });

  test('the Environments panel lists versions, builds, and shows a failed build with its log', async ({
    page,
    request
  }) => {
    test.setTimeout(150000);
    // Two definitions in the server root: one whose lock cannot be installed, one without a lock.
    await putDirectory(request, 'environments');
    await putDirectory(request, 'environments/broken');
    await putText(
      request,
      'environments/broken/environment.toml',
      [
        'name = "broken"',
        'display_name = "Broken on purpose"',
        'description = "Its lock names a package that does not exist."',
        'kernel = ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]',
        ''
      ].join('\n')
    );
    await putText(
      request,
      'environments/broken/requirements.lock',
      'nj-surely-missing-package==9.9.9\n'
    );
    // A copy of the built-in bash under another name, defined only in this server's root: the
    // panel's build of it below is its first anywhere (other specs build bash itself), so its
    // steps' output is there to see.
    await putDirectory(request, 'environments/shell');
    const bashDefinition = path.resolve(__dirname, '../../environments/bash');
    await putText(
      request,
      'environments/shell/environment.toml',
      fs
        .readFileSync(path.join(bashDefinition, 'environment.toml'), 'utf-8')
        .replace('name = "bash"', 'name = "shell"')
    );
    await putText(
      request,
      'environments/shell/requirements.lock',
      // One more line makes another lock, so another version and venv than bash's.
      fs.readFileSync(path.join(bashDefinition, 'requirements.lock'), 'utf-8') +
        '# the same packages as bash, as the environment "shell"\n'
    );
    await putDirectory(request, 'environments/nolock');
    await putText(
      request,
      'environments/nolock/environment.toml',
      'name = "nolock"\nkernel = ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]\n'
    );

    await page.locator('.jp-SideBar [data-id="jp-nj-environments"]').click();
    const panel = page.locator('#jp-nj-environments');
    await expect(panel).toBeVisible();
    const card = (name: string) =>
      panel.locator(`.jp-nj-Environment[data-environment="${name}"]`);
    await expect(card('python')).toBeVisible({ timeout: 30000 });
    await expect(card('bash')).toBeVisible();
    await expect(
      card('nolock').locator('.jp-nj-Environment-definition')
    ).toContainText('requirements.lock is missing');
    await expect(
      card('nolock').locator('.jp-nj-Environment-build').first()
    ).toBeDisabled();
    // The Docker engine is running for the tests: the panel says so.
    await expect(
      panel.locator('.jp-nj-EnvironmentsPanel-engine')
    ).toHaveAttribute('data-live', 'true', { timeout: 30000 });

    // Build shell locally from the panel: progress and the steps' output while it runs, then
    // the new version, with the output folded under it.
    await card('shell')
      .locator('.jp-nj-Environment-build[data-backend="local"]')
      .click();
    await expect(
      card('shell').locator('.jp-nj-Environment-outcome')
    ).toHaveAttribute('data-outcome', /building|built/);
    await expect(
      card('shell').locator('.jp-nj-Environment-outcome')
    ).toHaveAttribute('data-outcome', 'built', { timeout: 90000 });
    await expect(
      card('shell').locator('.jp-nj-Environment-outcome')
    ).toContainText(/Built shell@[0-9a-f]{12} \(local\)/);
    await expect(
      card('shell').locator(
        '.jp-nj-Environment-output .jp-nj-Environment-liveLog'
      )
    ).toContainText(/\+ bash-kernel==/);
    const versions = card('shell').locator('.jp-nj-EnvironmentVersion');
    await expect(versions).toHaveCount(1);
    await expect(versions.first()).toHaveAttribute('data-backend', 'local');
    const listed = await (
      await request.get('/nj/api/environments/shell')
    ).json();
    await expect(versions.first()).toHaveAttribute(
      'data-version',
      listed.versions[0].version
    );

    // A build started elsewhere (here: straight through the API) shows up live, from the
    // server's jupyter events, without touching the panel.
    const elsewhere = request.post('/nj/api/environments/python/build', {
      data: { backend: 'local' },
      timeout: 90000
    });
    await expect(
      card('python').locator('.jp-nj-Environment-outcome')
    ).toContainText(/Built python@[0-9a-f]{12} \(local\) in \d+\.\d s\./, {
      timeout: 90000
    });
    expect((await elsewhere).status()).toBe(201);

    // A build that fails says why, with the end of its log.
    await card('broken')
      .locator('.jp-nj-Environment-build[data-backend="local"]')
      .click();
    const failure = card('broken').locator('.jp-nj-Environment-outcome');
    await expect(failure).toHaveAttribute('data-outcome', 'failed', {
      timeout: 90000
    });
    await expect(failure.locator('.jp-nj-Environment-failure')).toContainText(
      'failed'
    );
    await expect(failure.locator('.jp-nj-Environment-log')).toContainText(
      'nj-surely-missing-package'
    );
    await expect(
      card('broken').locator('.jp-nj-EnvironmentVersion')
    ).toHaveCount(0);

    await panel.screenshot({ path: `${IMAGES}/environments-panel.png` });
  });
  test('a notebook pinned to a version this server lacks says so and offers to build it', async ({
    page,
    request,
    tmpPath
  }) => {
    const missing = 'sha256:' + '0'.repeat(64);
    await putNotebook(request, `${tmpPath}/pinned.ipynb`, [], {
      nj: {
        runtimes: {
          main: { environment: 'bash', version: missing, backend: 'local' }
        }
      }
    });
    await page.notebook.openByPath(`${tmpPath}/pinned.ipynb`);
    await page.sidebar.close('left');
    await expect(control(page)).toHaveAttribute('data-nj-state', 'pinned', {
      timeout: 30000
    });
    await expect(
      control(page).locator('.jp-nj-RuntimeControl-label')
    ).toHaveText('bash@000000000000 (not running)');
    const menu = await openRuntimeMenu(page);
    await expect(
      menu.locator('.lm-Menu-item', {
        hasText: 'Pinned bash@000000000000 (local) is not on this server'
      })
    ).toBeVisible();
    await menu
      .locator('.lm-Menu-item', {
        hasText: 'Build bash (local) to recreate it'
      })
      .click();
    // The definition builds another version than the made-up pin: the user is told what to do.
    await expect(
      page.locator('.Toastify__toast', {
        hasText: 'which is not the pinned 000000000000'
      })
    ).toBeVisible({ timeout: 90000 });

    // "Use" in the Environments panel moves the notebook to the version just built.
    await page.locator('.jp-SideBar [data-id="jp-nj-environments"]').click();
    const bash = page.locator(
      '#jp-nj-environments .jp-nj-Environment[data-environment="bash"]'
    );
    const version = bash.locator('.jp-nj-EnvironmentVersion').first();
    await expect(version).toBeVisible({ timeout: 30000 });
    const built = (await version.getAttribute('data-version'))!;
    await version.locator('.jp-nj-EnvironmentVersion-use').click();
    await page.sidebar.close('left');
    await expect(control(page)).toHaveAttribute('data-version', built, {
      timeout: 60000
    });
    await expect(control(page)).toHaveAttribute('data-environment', 'bash');
    expect((await pinOnDisk(request, `${tmpPath}/pinned.ipynb`)).version).toBe(
      built
    );
    await page.locator('.jp-SideBar [data-id="jp-nj-environments"]').click();
    await expect(
      version.locator('.jp-nj-EnvironmentVersion-pinned')
    ).toBeVisible();
  });
  test('in a Docker container: pick the docker version, install, save, restart', async ({
    page,
    request,
    tmpPath
  }) => {
    // Needs the engine and the runtime base image (`jupyter nj env bootstrap`); the image of
    // the python environment itself is reused when a previous build made it.
    // Outside CI a machine without the image skips; in CI (where pytest made it) it must run.
    test.skip(
      !process.env.CI && !Private.dockerImage('nj-runtime-base:bookworm'),
      Private.NO_BASE_IMAGE
    );
    test.setTimeout(300000);
    const response = await request.post('/nj/api/environments/python/build', {
      data: { backend: 'docker' },
      timeout: 240000
    });
    expect(response.status()).toBe(201);
    const built = await response.json();
    expect(built.backend).toBe('docker');

    await page.notebook.createNew('docker.ipynb', { kernel: 'python3' });
    await page.sidebar.close('left');
    const menu = await openRuntimeMenu(page);
    await menu.locator('.lm-Menu-item', { hasText: 'python — ' }).click();
    const submenu = page.locator('.jp-nj-RuntimeMenu').nth(1);
    await submenu
      .locator('.lm-Menu-item', { hasText: `${built.short} · docker` })
      .click();
    await expect(control(page)).toHaveAttribute('data-version', built.version, {
      timeout: 90000
    });
    await expect(control(page)).toHaveAttribute('data-backend', 'docker');
    // A server running as root serves this root-owned folder, which the kernel (never root)
    // cannot write: the control and a notification say so. As a regular user it can.
    const rootServer = process.getuid?.() === 0;
    await expect(control(page)).toHaveAttribute(
      'data-warning',
      String(rootServer)
    );
    if (rootServer) {
      await expect(
        page.locator('.Toastify__toast', {
          hasText: "cannot write to the notebook's folder"
        })
      ).toBeVisible();
    }
    // The kernel runs in a container, as an unprivileged user.
    expect(
      await runCell(
        page,
        0,
        "import os; print(os.path.exists('/.dockerenv'), os.getuid() != 0)"
      )
    ).toContain('True True');

    await page.notebook.addCell('code', '');
    expect(await runCell(page, 1, MAKE_WHEEL)).toContain('wheel ready');
    await page.notebook.addCell('code', '');
    expect(
      await runCell(
        page,
        2,
        '%pip install --no-index --find-links {wheels} nj_ui_probe'
      )
    ).toMatch(/Successfully installed nj_ui_probe/i);
    await expect(control(page)).toHaveAttribute('data-nj-unsaved', 'true');

    const again = await openRuntimeMenu(page);
    await again
      .locator('.lm-Menu-item', { hasText: 'Save environment' })
      .click();
    const toast = page.locator('.Toastify__toast', {
      hasText: 'Saved python@'
    });
    await expect(toast).toBeVisible({ timeout: 120000 });
    const saved = /Saved python@([0-9a-f]{12})/.exec(
      (await toast.textContent()) ?? ''
    )![1];
    await expect(
      control(page).locator('.jp-nj-RuntimeControl-label')
    ).toHaveText(`python@${saved}`, { timeout: 15000 });
    const savedVersion = (await control(page).getAttribute('data-version'))!;
    try {
      await page.evaluate(async () => {
        const panel = (window as any).jupyterapp.shell.currentWidget;
        await panel.sessionContext.restartKernel();
      });
      await expect(control(page)).toHaveAttribute(
        'data-version',
        savedVersion,
        {
          timeout: 90000
        }
      );
      await expect(control(page)).toHaveAttribute('data-backend', 'docker');
      await page.notebook.addCell('code', '');
      expect(
        await runCell(page, 3, 'import nj_ui_probe; print(nj_ui_probe.VALUE)')
      ).toContain('42');
      expect(
        (await pinOnDisk(request, `${tmpPath}/docker.ipynb`)).version
      ).toBe(savedVersion);
    } finally {
      // Each run saves a new image: shut the kernel down and remove it.
      await page.evaluate(async () => {
        const panel = (window as any).jupyterapp.shell.currentWidget;
        await panel.sessionContext.shutdown();
      });
      Private.removeImage(savedVersion);
    }
  });
});

namespace Private {
  export const NO_BASE_IMAGE =
    'No Docker engine or no nj-runtime-base image here: run `jupyter nj env bootstrap` first.';

  /** Whether the Docker engine answers and has the image. */
  export function dockerImage(name: string): boolean {
    try {
      execFileSync('docker', ['image', 'inspect', name], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }

  export function removeImage(id: string): void {
    try {
      execFileSync('docker', ['image', 'rm', '--force', id], {
        stdio: 'ignore'
      });
    } catch {
      // Already gone, or still used by a container that the server removes on shutdown.
    }
  }
}
