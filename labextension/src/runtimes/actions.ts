import { Notification, showErrorMessage } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import type { NotebookPanel } from '@jupyterlab/notebook';
import { KernelSpec, ServerConnection } from '@jupyterlab/services';
import { CommandRegistry } from '@lumino/commands';
import { ISignal, Signal } from '@lumino/signaling';
import { Menu } from '@lumino/widgets';

import { type ITrans, untranslated } from '../translation';
import type { RuntimesClient } from './client';
import { GpuMenu } from './gpus';
import { apiPath } from '../paths';
import {
  describeVersion,
  environmentOfKernel,
  installCommands,
  kernelNameFor,
  newestVersion,
  readPin,
  sameVersion,
  shortVersion,
  sortedVersions,
  withPin
} from './format';
import type {
  IBuildEvent,
  IBuildLog,
  IEnvironment,
  IEnvironmentVersion,
  IRuntimeActions,
  IRuntimeInfo,
  ISnapshotResult
} from './tokens';

/**
 * What the toolbar control, the Environments panel and the commands do to a notebook's runtime:
 * pin it to a version and (re)start the kernel on it, save the runtime as a new version, and
 * build environments. Every change is announced on `changed`, so all views refresh.
 */
export class RuntimeActions implements IRuntimeActions {
  /**
   * @param client - the Runtimes REST client.
   * @param kernelspecs - the application's kernelspec manager (refreshed after builds).
   * @param openEnvironments - opens the Environments side panel.
   * @param trans - the jupyter-nj translation bundle.
   */
  constructor(
    readonly client: RuntimesClient,
    private readonly _kernelspecs: KernelSpec.IManager,
    private readonly _openEnvironments: () => void,
    private readonly _trans: ITrans = untranslated
  ) {
    this.gpuMenu = new GpuMenu(client, () => this._changed.emit(), _trans);
  }

  /** The runtime menu's GPU submenu, and the notices of GPU culls. */
  readonly gpuMenu: GpuMenu;

  /** The environments and their versions, as the server lists them now. */
  environments(): Promise<IEnvironment[]> {
    return this.client.environments();
  }

  /** Emitted after anything that may change what a notebook runs or which versions exist. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * The environment names whose build is running now: started here, or reported by the
   * server's build events (another tab or user).
   */
  get building(): ReadonlySet<string> {
    return new Set([...this._building, ...this._remoteBuilds]);
  }

  /** Emitted when a build starts or ends: `{name, backend, error}`. */
  get buildChanged(): ISignal<this, IBuildEvent> {
    return this._buildChanged;
  }

  /** Emitted with the lines a running build's steps print, as the server streams them. */
  get buildLog(): ISignal<this, IBuildLog> {
    return this._buildLog;
  }

  /**
   * The install commands run in the panel's runtime since it started or was last saved: what
   * would be lost if the runtime stopped now.
   */
  unsavedInstalls(panel: NotebookPanel): string[] {
    return this._unsaved.get(panel) ?? [];
  }

  /** Emitted with the panel whose unsaved installs changed. */
  get unsavedChanged(): ISignal<this, NotebookPanel> {
    return this._unsavedChanged;
  }

  /** Record the code a runtime executed; install commands make the runtime "unsaved". */
  noteExecuted(panel: NotebookPanel, code: string): void {
    const found = installCommands(code);
    if (found.length > 0) {
      this._unsaved.set(panel, [...this.unsavedInstalls(panel), ...found]);
      this._unsavedChanged.emit(panel);
    }
  }

  /** Forget the panel's unsaved installs (saved, or gone with a restarted runtime). */
  clearUnsaved(panel: NotebookPanel): void {
    if (this._unsaved.delete(panel)) {
      this._unsavedChanged.emit(panel);
    }
  }

  /** What the panel's kernel runs; null when it runs no jupyter-nj runtime (or none at all). */
  async runtimeOf(panel: NotebookPanel): Promise<IRuntimeInfo | null> {
    const kernel = panel.sessionContext.session?.kernel;
    if (!kernel || !environmentOfKernel(kernel.name)) {
      return null;
    }
    try {
      return await this.client.runtime(kernel.id);
    } catch (error) {
      if (
        error instanceof ServerConnection.ResponseError &&
        [404, 409].includes(error.response.status)
      ) {
        return null;
      }
      throw error;
    }
  }

  /** The backend the server's kernelspec for `environment` launches with, when known. */
  kernelspecBackend(environment: string): string | null {
    const spec =
      this._kernelspecs.specs?.kernelspecs[kernelNameFor(environment)];
    const nj = (spec?.metadata as any)?.nj;
    return typeof nj?.backend === 'string' ? nj.backend : null;
  }

  /**
   * Pin the notebook to `version` and start its kernel on it: the pin is written into the
   * notebook's metadata and saved (the server's provisioner reads it from the open real-time
   * room, else the saved file; a room saves it on its own), then the kernel is switched to
   * `nj-<environment>` or restarted.
   */
  async useVersion(
    panel: NotebookPanel,
    version: IEnvironmentVersion
  ): Promise<void> {
    const model = panel.content.model;
    if (!model) {
      return;
    }
    model.setMetadata('nj', withPin(model.getMetadata('nj'), version));
    if (!model.collaborative) {
      await panel.context.save();
    }
    // A real-time room saves the shared document itself, about a second after the change.
    // Saving from here as well races that save, and JupyterLab then asks whether to overwrite
    // a file "changed on disk".
    await Private.waitForPinOnDisk(
      this.client.serverSettings,
      apiPath(panel.context.path),
      version.version
    );
    const kernelName = kernelNameFor(version.name);
    const sessionContext = panel.sessionContext;
    if (sessionContext.session?.kernel?.name === kernelName) {
      await sessionContext.restartKernel();
    } else {
      // A kernelspec written since the page loaded is unknown to the browser until refreshed.
      await this._kernelspecs.refreshSpecs();
      await sessionContext.changeKernel({ name: kernelName });
    }
    this._changed.emit();
  }

  /**
   * "Save environment": the runtime's current state becomes a new version, the notebook is
   * re-pinned to it, and the user is told its name.
   */
  async saveEnvironment(panel: NotebookPanel): Promise<ISnapshotResult | null> {
    const kernel = panel.sessionContext.session?.kernel;
    if (!kernel || !environmentOfKernel(kernel.name)) {
      await showErrorMessage(
        this._trans.__('Save environment'),
        this._trans.__(
          'This notebook does not run in a jupyter-nj environment. Pick an environment from ' +
            'the runtime menu in the notebook toolbar first.'
        )
      );
      return null;
    }
    const id = Notification.emit(
      this._trans.__('Saving the environment…'),
      'in-progress',
      {
        autoClose: false
      }
    );
    try {
      const result = await this.client.snapshot(
        kernel.id,
        apiPath(panel.context.path)
      );
      const model = panel.content.model;
      const current = readPin(model?.getMetadata('nj'));
      // The server writes the pin into the real-time room when one is open; a document edited
      // without one is given it here, so its next save does not write the old pin back.
      if (
        model &&
        result.pin &&
        !sameVersion(current?.version, result.version.version)
      ) {
        model.setMetadata(
          'nj',
          withPin(model.getMetadata('nj'), result.version)
        );
      }
      this.clearUnsaved(panel);
      Notification.update({
        id,
        message: result.message,
        type: 'success',
        autoClose: 10000
      });
      this._changed.emit();
      return result;
    } catch (error) {
      Notification.update({
        id,
        message: this._trans.__(
          'Save environment failed: %1',
          Private.message(error)
        ),
        type: 'error',
        autoClose: false
      });
      return null;
    }
  }

  /**
   * Follow the server's environment events (`build-started`, `build-log`, `build-finished`,
   * `build-failed`, `snapshot-saved`), so builds started elsewhere show live, every build's
   * output streams into the panel, and every view refreshes when a version appears. The start
   * and end of builds started from this tab are reported by their own request.
   */
  handleEvent(event: { schema_id: string; [key: string]: unknown }): void {
    if (event.schema_id !== ENVIRONMENT_EVENTS) {
      return;
    }
    const name = String(event.environment ?? '');
    const backend = String(event.backend ?? '');
    if (name && event.action === 'build-log') {
      // Lines of every build, this tab's own included: its request answers only at the end.
      const lines = Array.isArray(event.lines) ? event.lines.map(String) : [];
      this._buildLog.emit({ name, backend, lines });
      return;
    }
    if (!name || this._building.has(name)) {
      if (event.action === 'snapshot-saved') {
        this._changed.emit();
      }
      return;
    }
    switch (event.action) {
      case 'build-started':
        this._remoteBuilds.add(name);
        this._buildChanged.emit({ name, backend, error: null });
        break;
      case 'build-finished':
        this._remoteBuilds.delete(name);
        this._buildChanged.emit({
          name,
          backend,
          error: null,
          version:
            typeof event.version === 'string' ? event.version : undefined,
          seconds: typeof event.seconds === 'number' ? event.seconds : undefined
        });
        this._changed.emit();
        break;
      case 'build-failed':
        this._remoteBuilds.delete(name);
        this._buildChanged.emit({
          name,
          backend,
          error: String(
            event.message ?? event.reason ?? this._trans.__('the build failed')
          )
        });
        break;
      case 'snapshot-saved':
        this._changed.emit();
        break;
    }
  }

  /** Build the current definition of `name` on `backend`; errors are re-thrown to the caller. */
  async build(name: string, backend: string): Promise<IEnvironmentVersion> {
    this._building.add(name);
    this._buildChanged.emit({ name, backend, error: null });
    try {
      const started = Date.now();
      const version = await this.client.build(name, backend);
      await this._kernelspecs.refreshSpecs();
      this._building.delete(name);
      this._buildChanged.emit({
        name,
        backend,
        error: null,
        version: version.version,
        seconds: (Date.now() - started) / 1000
      });
      this._changed.emit();
      return version;
    } catch (error) {
      this._building.delete(name);
      this._buildChanged.emit({ name, backend, error: Private.message(error) });
      throw error;
    }
  }

  /**
   * Open the runtime menu of a notebook under `anchor`: every environment with its versions
   * (pick one to pin the notebook and restart on it), "Save environment", and the panel.
   */
  async openMenu(panel: NotebookPanel, anchor: HTMLElement): Promise<void> {
    const trans = this._trans;
    const commands = new CommandRegistry();
    const menu = new Menu({ commands });
    menu.addClass('jp-nj-RuntimeMenu');
    menu.id = 'jp-nj-runtime-menu';

    let environments: IEnvironment[] = [];
    let problem = '';
    try {
      environments = await this.client.environments();
    } catch (error) {
      problem = Private.message(error);
    }
    let running: IRuntimeInfo | null = null;
    try {
      running = await this.runtimeOf(panel);
    } catch {
      running = null;
    }
    const pin = readPin(panel.content.model?.getMetadata('nj'));

    if (problem) {
      commands.addCommand('nj:problem', {
        label: trans.__('Cannot list environments: %1', problem),
        isEnabled: () => false,
        execute: () => undefined
      });
      menu.addItem({ command: 'nj:problem' });
    }
    const pinnedEnvironment = pin
      ? environments.find(e => e.name === pin.environment)
      : undefined;
    if (
      pin &&
      pinnedEnvironment &&
      !pinnedEnvironment.versions.some(v => sameVersion(v.version, pin.version))
    ) {
      this._missingPinItems(commands, menu, pin);
    }
    for (const environment of environments) {
      menu.addItem({
        type: 'submenu',
        submenu: this._environmentMenu(
          commands,
          panel,
          environment,
          running,
          pin?.version ?? null
        )
      });
    }
    if (environments.length === 0 && !problem) {
      commands.addCommand('nj:none', {
        label: trans.__('No environments are defined on this server'),
        isEnabled: () => false,
        execute: () => undefined
      });
      menu.addItem({ command: 'nj:none' });
    }
    menu.addItem({ type: 'separator' });
    menu.addItem({
      type: 'submenu',
      submenu: await this.gpuMenu.build(commands, panel, running)
    });
    commands.addCommand('nj:save', {
      label: trans.__('Save environment'),
      caption: trans.__(
        'Save what this runtime installed as a new environment version and pin the notebook to it'
      ),
      isEnabled: () => running !== null && running.version !== null,
      execute: () => void this.saveEnvironment(panel)
    });
    menu.addItem({ command: 'nj:save' });
    commands.addCommand('nj:panel', {
      label: trans.__('Environments panel'),
      execute: () => this._openEnvironments()
    });
    menu.addItem({ command: 'nj:panel' });

    menu.aboutToClose.connect(() => {
      // The command runs right after the menu closes; dispose of the menu after that.
      setTimeout(() => menu.dispose(), 0);
    });
    const rect = anchor.getBoundingClientRect();
    menu.open(rect.left, rect.bottom);
  }

  /**
   * The notebook is pinned to a version this server does not have: say so, and offer to build
   * the environment (a build of an unchanged definition makes exactly the pinned version again).
   */
  private _missingPinItems(
    commands: CommandRegistry,
    menu: Menu,
    pin: { environment: string; version: string; backend: string }
  ): void {
    const trans = this._trans;
    const label = `${pin.environment}@${shortVersion(pin.version)}`;
    commands.addCommand('nj:missing', {
      label: trans.__(
        'Pinned %1 (%2) is not on this server',
        label,
        pin.backend || trans.__('any backend')
      ),
      isEnabled: () => false,
      execute: () => undefined
    });
    menu.addItem({ command: 'nj:missing' });
    const backends = pin.backend === 'docker' ? ['local', 'docker'] : ['local'];
    for (const backend of backends) {
      const id = `nj:rebuild:${backend}`;
      commands.addCommand(id, {
        label: trans.__(
          'Build %1 (%2) to recreate it',
          pin.environment,
          backend
        ),
        caption: trans.__(
          'Rebuilds the current definition; it is the pinned version again when the ' +
            'definition is unchanged. Otherwise import the pinned version (jupyter nj env import).'
        ),
        execute: () => void this._rebuildPin(pin, backend)
      });
      menu.addItem({ command: id });
    }
    menu.addItem({ type: 'separator' });
  }

  private async _rebuildPin(
    pin: { environment: string; version: string; backend: string },
    backend: string
  ): Promise<void> {
    const trans = this._trans;
    const id = Notification.emit(
      trans.__('Building %1 (%2)…', pin.environment, backend),
      'in-progress',
      { autoClose: false }
    );
    try {
      const built = await this.build(pin.environment, backend);
      const same =
        sameVersion(built.version, pin.version) || backend !== pin.backend;
      Notification.update({
        id,
        type: same ? 'success' : 'warning',
        autoClose: same ? 10000 : false,
        message: same
          ? trans.__(
              'Built %1@%2 (%3). Restart the kernel to run the pinned version.',
              built.name,
              built.short,
              built.backend
            )
          : trans.__(
              'Built %1@%2, which is not the pinned %3: the definition changed since. Import ' +
                'the pinned version (jupyter nj env import) or pick the new one from the ' +
                'runtime menu.',
              built.name,
              built.short,
              shortVersion(pin.version)
            )
      });
    } catch (error) {
      Notification.update({
        id,
        type: 'error',
        autoClose: false,
        message: trans.__(
          'Building %1 failed: %2',
          pin.environment,
          Private.message(error)
        )
      });
    }
  }

  private _environmentMenu(
    commands: CommandRegistry,
    panel: NotebookPanel,
    environment: IEnvironment,
    running: IRuntimeInfo | null,
    pinned: string | null
  ): Menu {
    const trans = this._trans;
    const submenu = new Menu({ commands });
    submenu.addClass('jp-nj-RuntimeMenu');
    submenu.title.label =
      environment.display_name && environment.display_name !== environment.name
        ? `${environment.name} — ${environment.display_name}`
        : environment.name;
    submenu.title.className = 'jp-nj-RuntimeMenu-environment';
    submenu.title.dataset = { environment: environment.name };
    const versions = sortedVersions(environment.versions);
    if (versions.length === 0) {
      const id = `nj:build:${environment.name}`;
      commands.addCommand(id, {
        label: trans.__('Not built yet: build it in the Environments panel'),
        execute: () => this._openEnvironments()
      });
      submenu.addItem({ command: id });
      return submenu;
    }
    const newest = newestVersion(
      environment,
      this.kernelspecBackend(environment.name)
    );
    const runningVersion =
      running?.environment === environment.name
        ? (running.version?.version ?? null)
        : null;
    if (newest) {
      const id = `nj:newest:${environment.name}`;
      commands.addCommand(id, {
        label: trans.__('Newest (%1, %2)', newest.short, newest.backend),
        execute: () => void this._use(panel, newest)
      });
      submenu.addItem({ command: id });
      submenu.addItem({ type: 'separator' });
    }
    for (const version of versions) {
      const id = `nj:version:${environment.name}:${version.version}`;
      const isRunning = sameVersion(runningVersion, version.version);
      const isPinned = sameVersion(pinned, version.version);
      commands.addCommand(id, {
        label:
          describeVersion(version) +
          (version.parent ? trans.__(' · saved') : '') +
          (isRunning
            ? trans.__(' · running')
            : isPinned
              ? trans.__(' · pinned')
              : ''),
        caption: version.changes.length
          ? version.changes.join('\n')
          : trans.__('Built from the %1 definition', environment.name),
        isToggled: () => isRunning || (!runningVersion && isPinned),
        execute: () => void this._use(panel, version)
      });
      submenu.addItem({ command: id });
    }
    return submenu;
  }

  private async _use(
    panel: NotebookPanel,
    version: IEnvironmentVersion
  ): Promise<void> {
    try {
      await this.useVersion(panel, version);
    } catch (error) {
      await showErrorMessage(
        this._trans.__('Cannot switch to %1@%2', version.name, version.short),
        Private.message(error)
      );
    }
  }

  private _changed = new Signal<this, void>(this);
  private _buildChanged = new Signal<this, IBuildEvent>(this);
  private _buildLog = new Signal<this, IBuildLog>(this);
  private _building = new Set<string>();
  private _remoteBuilds = new Set<string>();
  private _unsaved = new WeakMap<NotebookPanel, string[]>();
  private _unsavedChanged = new Signal<this, NotebookPanel>(this);
}

/**
 * The schema of the server's environment build and snapshot events.
 */
export const ENVIRONMENT_EVENTS =
  'https://events.jupyter.org/jupyter_nj/environments/v1';

namespace Private {
  /** The user-facing text of an error from the server or the network. */
  export function message(error: unknown): string {
    if (error instanceof Error) {
      return error.message;
    }
    return String(error);
  }

  /**
   * Wait (a few seconds at most) until the saved notebook on the server holds the pin: the
   * kernel provisioner reads it from the file, and a real-time document is saved asynchronously.
   */
  export async function waitForPinOnDisk(
    settings: ServerConnection.ISettings,
    path: string,
    version: string
  ): Promise<void> {
    const url =
      URLExt.join(
        settings.baseUrl,
        'api/contents',
        ...path.split('/').map(encodeURIComponent)
      ) + '?type=notebook&content=1';
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline) {
      try {
        const response = await ServerConnection.makeRequest(url, {}, settings);
        if (response.ok) {
          const model = await response.json();
          const pin = readPin(model?.content?.metadata?.nj);
          if (sameVersion(pin?.version, version)) {
            return;
          }
        }
      } catch {
        // Try again until the deadline; the kernel start then reports what it runs.
      }
      await new Promise(resolve => setTimeout(resolve, 250));
    }
  }
}
