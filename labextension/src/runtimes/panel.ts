import type { NotebookPanel } from '@jupyterlab/notebook';
import { buildIcon, refreshIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { iconButton } from '../dom';
import type { INJStatusModel } from '../tokens';
import { RuntimeActions } from './actions';
import {
  describeVersion,
  readPin,
  sameVersion,
  shortVersion,
  sortedVersions,
  splitBuildLog
} from './format';
import type { IEnvironment, IEnvironmentVersion } from './tokens';

/**
 * The Environments side panel: every environment with its versions (newest first, saved ones
 * with what changed), build buttons per backend, the state of the Docker engine, and each
 * build's outcome: the new version, or the server's error with the build log.
 */
export class EnvironmentsPanel extends Widget {
  /**
   * @param actions - the shared runtime actions.
   * @param currentNotebook - the notebook the "Use" buttons act on, if any.
   * @param status - which backends are live (for the Docker engine notice), if available.
   */
  constructor(
    private readonly _actions: RuntimeActions,
    private readonly _currentNotebook: () => NotebookPanel | null,
    private readonly _status: INJStatusModel | null
  ) {
    super();
    this.id = 'jp-nj-environments';
    this.addClass('jp-nj-EnvironmentsPanel');
    this.title.icon = buildIcon;
    this.title.caption = 'Environments';

    const header = document.createElement('div');
    header.className = 'jp-nj-EnvironmentsPanel-header';
    const title = document.createElement('h2');
    title.textContent = 'Environments';
    const refresh = iconButton(
      'jp-nj-EnvironmentsPanel-refresh',
      'Refresh the list',
      refreshIcon
    );
    refresh.addEventListener('click', () => void this.refresh());
    header.append(title, refresh);
    this._engine = document.createElement('div');
    this._engine.className = 'jp-nj-EnvironmentsPanel-engine';
    this._error = document.createElement('div');
    this._error.className = 'jp-nj-EnvironmentsPanel-error';
    this._list = document.createElement('div');
    this._list.className = 'jp-nj-EnvironmentsPanel-list';
    this.node.append(header, this._engine, this._error, this._list);

    _actions.changed.connect(() => void this.refresh(), this);
    _actions.buildChanged.connect(this._onBuild, this);
    _actions.buildLog.connect(this._onBuildLog, this);
    _status?.changed.connect(this._showEngine, this);
    this._showEngine();
  }

  /** Ask the server for the environments again and redraw. */
  async refresh(): Promise<void> {
    try {
      this._environments = await this._actions.client.environments();
      this._error.textContent = '';
      this._error.hidden = true;
    } catch (error) {
      this._error.textContent = `Cannot list environments: ${(error as Error).message}`;
      this._error.hidden = false;
    }
    this._render();
    this.node.dataset.njState = 'ready';
  }

  protected onAfterShow(): void {
    void this.refresh();
  }

  private _showEngine(): void {
    const docker = this._status?.status?.backends.find(
      b => b.name === 'docker'
    );
    this._engine.hidden = !docker;
    if (!docker) {
      return;
    }
    this._engine.dataset.live = String(docker.live);
    this._engine.textContent = docker.live
      ? `Docker engine: live (${docker.detail})`
      : `Docker engine down: ${docker.detail}. ${docker.hint} Local environments still work.`;
  }

  /** Show the newest lines of a build in its card, without redrawing the list. */
  private _onBuildLog(
    _: RuntimeActions,
    event: RuntimeActions.IBuildLog
  ): void {
    const lines = [...(this._logs.get(event.name) ?? []), ...event.lines];
    this._logs.set(event.name, lines.slice(-Private.LIVE_LOG_LINES));
    const pre = this._list.querySelector<HTMLElement>(
      `.jp-nj-Environment[data-environment="${CSS.escape(event.name)}"] .jp-nj-Environment-liveLog`
    );
    if (pre) {
      pre.textContent = this._logs.get(event.name)!.join('\n');
      pre.scrollTop = pre.scrollHeight;
    }
  }

  private _onBuild(_: RuntimeActions, event: RuntimeActions.IBuildEvent): void {
    if (this._actions.building.has(event.name)) {
      if (this._outcomes.get(event.name)?.kind !== 'building') {
        this._logs.delete(event.name); // a new build: the last one's lines are gone
      }
      this._outcomes.set(event.name, {
        kind: 'building',
        backend: event.backend,
        started: Date.now(),
        text: ''
      });
      this._startTicker();
    } else if (event.error !== null) {
      this._outcomes.set(event.name, {
        kind: 'failed',
        backend: event.backend,
        started: 0,
        text: event.error
      });
    } else if (event.version) {
      this._outcomes.set(event.name, {
        kind: 'built',
        backend: event.backend,
        started: 0,
        text:
          `Built ${event.name}@${shortVersion(event.version)} (${event.backend})` +
          (event.seconds !== undefined
            ? ` in ${event.seconds.toFixed(1)} s.`
            : '.')
      });
    } else {
      this._outcomes.delete(event.name);
    }
    this._render();
  }

  private _startTicker(): void {
    if (this._ticker) {
      return;
    }
    this._ticker = window.setInterval(() => {
      if (this._actions.building.size === 0) {
        window.clearInterval(this._ticker);
        this._ticker = 0;
        return;
      }
      for (const node of Array.from(
        this._list.querySelectorAll<HTMLElement>(
          '.jp-nj-Environment-progress[data-started]'
        )
      )) {
        const seconds = Math.round(
          (Date.now() - Number(node.dataset.started)) / 1000
        );
        node.textContent = `Building (${node.dataset.backend})… ${seconds} s`;
      }
    }, 1000);
  }

  private _render(): void {
    const notebook = this._currentNotebook();
    const pin = readPin(notebook?.content.model?.getMetadata('nj'));
    this._list.replaceChildren(
      ...this._environments.map(env =>
        this._renderEnvironment(env, notebook, pin?.version ?? null)
      )
    );
    if (this._environments.length === 0 && this._error.hidden) {
      const empty = document.createElement('p');
      empty.className = 'jp-nj-EnvironmentsPanel-empty';
      empty.textContent =
        'No environments are defined. Add a folder with an environment.toml under ' +
        '`environments/` in the server root.';
      this._list.append(empty);
    }
  }

  private _renderEnvironment(
    env: IEnvironment,
    notebook: NotebookPanel | null,
    pinned: string | null
  ): HTMLElement {
    const card = document.createElement('section');
    card.className = 'jp-nj-Environment';
    card.dataset.environment = env.name;
    const head = document.createElement('div');
    head.className = 'jp-nj-Environment-head';
    const name = document.createElement('span');
    name.className = 'jp-nj-Environment-name';
    name.textContent = env.name;
    const display = document.createElement('span');
    display.className = 'jp-nj-Environment-display';
    display.textContent = env.display_name !== env.name ? env.display_name : '';
    head.append(name, display);
    card.append(head);
    if (env.description) {
      const description = document.createElement('div');
      description.className = 'jp-nj-Environment-description';
      description.textContent = env.description;
      card.append(description);
    }
    if (env.definition !== 'ok') {
      const problem = document.createElement('div');
      problem.className = 'jp-nj-Environment-definition jp-nj-mod-error';
      problem.textContent =
        env.definition === 'missing'
          ? 'The definition is missing: only its built versions can run.'
          : env.definition;
      card.append(problem);
    }

    const building = this._actions.building.has(env.name);
    const buttons = document.createElement('div');
    buttons.className = 'jp-nj-Environment-buttons';
    for (const backend of ['local', 'docker']) {
      const button = document.createElement('button');
      button.className = 'jp-nj-Environment-build';
      button.dataset.backend = backend;
      button.textContent = `Build (${backend})`;
      button.title =
        backend === 'local'
          ? 'Build the current definition as a uv venv on this server'
          : 'Build the current definition as a Docker image';
      button.disabled = building || env.definition !== 'ok';
      button.addEventListener(
        'click',
        () => void this._build(env.name, backend)
      );
      buttons.append(button);
    }
    card.append(buttons);

    const outcome = this._outcomes.get(env.name);
    if (outcome) {
      card.append(Private.renderOutcome(outcome));
    }
    if (outcome && outcome.kind !== 'failed') {
      // The steps' output: open while the build runs, folded away once it is built. (A
      // failure shows the end of its log in its message.) Lines may still arrive after the
      // build's own answer; `_onBuildLog` fills this node in place.
      const details = document.createElement('details');
      details.className = 'jp-nj-Environment-output';
      details.open =
        outcome.kind === 'building' || this._outputOpen.has(env.name);
      details.addEventListener('toggle', () => {
        // Kept across redraws (the list is redrawn whenever versions change).
        if (outcome.kind !== 'building') {
          if (details.open) {
            this._outputOpen.add(env.name);
          } else {
            this._outputOpen.delete(env.name);
          }
        }
      });
      const label = document.createElement('summary');
      label.textContent = 'Build output';
      const live = document.createElement('pre');
      live.className = 'jp-nj-Environment-liveLog';
      live.setAttribute('aria-live', 'polite');
      live.textContent = (this._logs.get(env.name) ?? []).join('\n');
      details.append(label, live);
      card.append(details);
    }

    const versions = sortedVersions(env.versions);
    const list = document.createElement('ul');
    list.className = 'jp-nj-Environment-versions';
    if (versions.length === 0) {
      const item = document.createElement('li');
      item.className = 'jp-nj-Environment-unbuilt';
      item.textContent = 'Not built yet.';
      list.append(item);
    }
    for (const version of versions) {
      list.append(this._renderVersion(version, notebook, pinned));
    }
    card.append(list);
    return card;
  }

  private _renderVersion(
    version: IEnvironmentVersion,
    notebook: NotebookPanel | null,
    pinned: string | null
  ): HTMLElement {
    const item = document.createElement('li');
    item.className = 'jp-nj-EnvironmentVersion';
    item.dataset.version = version.version;
    item.dataset.backend = version.backend;
    const line = document.createElement('div');
    line.className = 'jp-nj-EnvironmentVersion-line';
    const text = document.createElement('span');
    text.className = 'jp-nj-EnvironmentVersion-text';
    text.textContent = describeVersion(version);
    text.title = version.version + (version.image ? `\n${version.image}` : '');
    line.append(text);
    if (sameVersion(pinned, version.version)) {
      const badge = document.createElement('span');
      badge.className = 'jp-nj-EnvironmentVersion-pinned';
      badge.textContent = 'pinned';
      line.append(badge);
    }
    if (notebook) {
      const use = document.createElement('button');
      use.className = 'jp-nj-EnvironmentVersion-use';
      use.textContent = 'Use';
      use.title = `Pin ${notebook.title.label} to this version and restart its kernel on it`;
      use.addEventListener('click', () => {
        void this._actions.useVersion(notebook, version).catch(error => {
          this._error.textContent = `Cannot switch: ${(error as Error).message}`;
          this._error.hidden = false;
        });
      });
      line.append(use);
    }
    item.append(line);
    if (version.parent) {
      const parent = document.createElement('div');
      parent.className = 'jp-nj-EnvironmentVersion-parent';
      parent.textContent = `saved from ${shortVersion(version.parent)}`;
      item.append(parent);
    }
    if (version.changes.length > 0) {
      const changes = document.createElement('ul');
      changes.className = 'jp-nj-EnvironmentVersion-changes';
      for (const change of version.changes.slice(0, 8)) {
        const entry = document.createElement('li');
        entry.textContent = change;
        changes.append(entry);
      }
      if (version.changes.length > 8) {
        const more = document.createElement('li');
        more.textContent = `… ${version.changes.length - 8} more`;
        changes.append(more);
      }
      item.append(changes);
    }
    return item;
  }

  private async _build(name: string, backend: string): Promise<void> {
    try {
      await this._actions.build(name, backend);
    } catch {
      // buildChanged carried the outcome (or the error and its log) into the card.
    }
  }

  private _environments: IEnvironment[] = [];
  private _outcomes = new Map<string, Private.IOutcome>();
  private _logs = new Map<string, string[]>();
  private _outputOpen = new Set<string>();
  private _engine: HTMLElement;
  private _error: HTMLElement;
  private _list: HTMLElement;
  private _ticker = 0;
}

namespace Private {
  /** What the card shows about the latest build of an environment. */
  /** How many of a build's newest lines its card keeps. */
  export const LIVE_LOG_LINES = 200;

  export interface IOutcome {
    kind: 'building' | 'built' | 'failed';
    backend: string;
    started: number;
    text: string;
  }

  export function renderOutcome(outcome: IOutcome): HTMLElement {
    const node = document.createElement('div');
    node.className = `jp-nj-Environment-outcome jp-nj-mod-${outcome.kind}`;
    node.dataset.outcome = outcome.kind;
    if (outcome.kind === 'building') {
      const progress = document.createElement('span');
      progress.className = 'jp-nj-Environment-progress';
      progress.dataset.started = String(outcome.started);
      progress.dataset.backend = outcome.backend;
      const seconds = Math.round((Date.now() - outcome.started) / 1000);
      progress.textContent = `Building (${outcome.backend})… ${seconds} s`;
      node.append(progress);
      return node;
    }
    if (outcome.kind === 'built') {
      node.textContent = outcome.text;
      return node;
    }
    const { summary, log } = splitBuildLog(outcome.text);
    const message = document.createElement('div');
    message.className = 'jp-nj-Environment-failure';
    message.textContent = `Build (${outcome.backend}) failed: ${summary}`;
    node.append(message);
    if (log) {
      const details = document.createElement('details');
      details.open = true;
      const label = document.createElement('summary');
      label.textContent = 'Build log';
      const pre = document.createElement('pre');
      pre.className = 'jp-nj-Environment-log';
      pre.textContent = log;
      details.append(label, pre);
      node.append(details);
    }
    return node;
  }
}
