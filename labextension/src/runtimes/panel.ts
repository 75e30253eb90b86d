import type { NotebookPanel } from '@jupyterlab/notebook';
import { buildIcon, refreshIcon } from '@jupyterlab/ui-components';
import { Widget } from '@lumino/widgets';

import { h, iconButton } from '../dom';
import type { INJStatusModel } from '../tokens';
import { type ITrans, untranslated } from '../translation';
import {
  describeVersion,
  readPin,
  sameVersion,
  shortVersion,
  sortedVersions,
  splitBuildLog
} from './format';
import type {
  IBuildEvent,
  IBuildLog,
  IEnvironment,
  IEnvironmentVersion,
  IRuntimeActions
} from './tokens';

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
   * @param trans - the jupyter-nj translation bundle.
   */
  constructor(
    private readonly _actions: IRuntimeActions,
    private readonly _currentNotebook: () => NotebookPanel | null,
    private readonly _status: INJStatusModel | null,
    private readonly _trans: ITrans = untranslated
  ) {
    super();
    const trans = _trans;
    this.id = 'jp-nj-environments';
    this.addClass('jp-nj-EnvironmentsPanel');
    this.title.icon = buildIcon;
    this.title.caption = trans.__('Environments');

    this._engine = h('div', { className: 'jp-nj-EnvironmentsPanel-engine' });
    this._error = h('div', { className: 'jp-nj-EnvironmentsPanel-error' });
    this._list = h('div', { className: 'jp-nj-EnvironmentsPanel-list' });
    this.node.append(
      h(
        'div',
        { className: 'jp-nj-EnvironmentsPanel-header' },
        h('h2', {}, trans.__('Environments')),
        iconButton(
          'jp-nj-EnvironmentsPanel-refresh',
          trans.__('Refresh the list'),
          refreshIcon,
          { on: { click: () => void this.refresh() } }
        )
      ),
      this._engine,
      this._error,
      this._list
    );

    _actions.changed.connect(() => void this.refresh(), this);
    _actions.buildChanged.connect(this._onBuild, this);
    _actions.buildLog.connect(this._onBuildLog, this);
    _status?.changed.connect(this._showEngine, this);
    this._showEngine();
  }

  /** Ask the server for the environments again and redraw. */
  async refresh(): Promise<void> {
    try {
      this._environments = await this._actions.environments();
      this._error.textContent = '';
      this._error.hidden = true;
    } catch (error) {
      this._error.textContent = this._trans.__(
        'Cannot list environments: %1',
        (error as Error).message
      );
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
      ? this._trans.__('Docker engine: live (%1)', docker.detail)
      : this._trans.__(
          'Docker engine down: %1. %2 Local environments still work.',
          docker.detail,
          docker.hint
        );
  }

  /** Show the newest lines of a build in its card, without redrawing the list. */
  private _onBuildLog(_: IRuntimeActions, event: IBuildLog): void {
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

  private _onBuild(_: IRuntimeActions, event: IBuildEvent): void {
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
          event.seconds !== undefined
            ? this._trans.__(
                'Built %1@%2 (%3) in %4 s.',
                event.name,
                shortVersion(event.version),
                event.backend,
                event.seconds.toFixed(1)
              )
            : this._trans.__(
                'Built %1@%2 (%3).',
                event.name,
                shortVersion(event.version),
                event.backend
              )
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
        node.textContent = Private.progressText(
          this._trans,
          node.dataset.backend ?? '',
          seconds
        );
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
      this._list.append(
        h(
          'p',
          { className: 'jp-nj-EnvironmentsPanel-empty' },
          this._trans.__(
            'No environments are defined. Add a folder with an environment.toml under ' +
              '`environments/` in the server root.'
          )
        )
      );
    }
  }

  private _renderEnvironment(
    env: IEnvironment,
    notebook: NotebookPanel | null,
    pinned: string | null
  ): HTMLElement {
    const trans = this._trans;
    const building = this._actions.building.has(env.name);
    const outcome = this._outcomes.get(env.name);
    const versions = sortedVersions(env.versions);
    return h(
      'section',
      { className: 'jp-nj-Environment', dataset: { environment: env.name } },
      h(
        'div',
        { className: 'jp-nj-Environment-head' },
        h('span', { className: 'jp-nj-Environment-name' }, env.name),
        h(
          'span',
          { className: 'jp-nj-Environment-display' },
          env.display_name !== env.name ? env.display_name : ''
        )
      ),
      env.description &&
        h(
          'div',
          { className: 'jp-nj-Environment-description' },
          env.description
        ),
      env.definition !== 'ok' &&
        h(
          'div',
          { className: 'jp-nj-Environment-definition jp-nj-mod-error' },
          env.definition === 'missing'
            ? trans.__(
                'The definition is missing: only its built versions can run.'
              )
            : env.definition
        ),
      h(
        'div',
        { className: 'jp-nj-Environment-buttons' },
        ...['local', 'docker'].map(backend =>
          h(
            'button',
            {
              className: 'jp-nj-Environment-build',
              dataset: { backend },
              title:
                backend === 'local'
                  ? trans.__(
                      'Build the current definition as a uv venv on this server'
                    )
                  : trans.__('Build the current definition as a Docker image'),
              disabled: building || env.definition !== 'ok',
              on: { click: () => void this._build(env.name, backend) }
            },
            trans.__('Build (%1)', backend)
          )
        )
      ),
      outcome && Private.renderOutcome(outcome, trans),
      outcome && outcome.kind !== 'failed' && this._renderOutput(env, outcome),
      h(
        'ul',
        { className: 'jp-nj-Environment-versions' },
        versions.length === 0 &&
          h(
            'li',
            { className: 'jp-nj-Environment-unbuilt' },
            trans.__('Not built yet.')
          ),
        ...versions.map(version =>
          this._renderVersion(version, notebook, pinned)
        )
      )
    );
  }

  /**
   * The steps' output: open while the build runs, folded away once it is built. (A failure
   * shows the end of its log in its message.) Lines may still arrive after the build's own
   * answer; `_onBuildLog` fills this node in place.
   */
  private _renderOutput(
    env: IEnvironment,
    outcome: Private.IOutcome
  ): HTMLElement {
    const details = h(
      'details',
      {
        className: 'jp-nj-Environment-output',
        open: outcome.kind === 'building' || this._outputOpen.has(env.name)
      },
      h('summary', {}, this._trans.__('Build output')),
      h(
        'pre',
        {
          className: 'jp-nj-Environment-liveLog',
          attrs: { 'aria-live': 'polite' }
        },
        (this._logs.get(env.name) ?? []).join('\n')
      )
    );
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
    return details;
  }

  private _renderVersion(
    version: IEnvironmentVersion,
    notebook: NotebookPanel | null,
    pinned: string | null
  ): HTMLElement {
    const trans = this._trans;
    const changes = version.changes;
    return h(
      'li',
      {
        className: 'jp-nj-EnvironmentVersion',
        dataset: { version: version.version, backend: version.backend }
      },
      h(
        'div',
        { className: 'jp-nj-EnvironmentVersion-line' },
        h(
          'span',
          {
            className: 'jp-nj-EnvironmentVersion-text',
            title: version.version + (version.image ? `\n${version.image}` : '')
          },
          describeVersion(version)
        ),
        sameVersion(pinned, version.version) &&
          h(
            'span',
            { className: 'jp-nj-EnvironmentVersion-pinned' },
            trans.__('pinned')
          ),
        notebook &&
          h(
            'button',
            {
              className: 'jp-nj-EnvironmentVersion-use',
              title: trans.__(
                'Pin %1 to this version and restart its kernel on it',
                notebook.title.label
              ),
              on: { click: () => this._use(notebook, version) }
            },
            trans.__('Use')
          )
      ),
      version.parent &&
        h(
          'div',
          { className: 'jp-nj-EnvironmentVersion-parent' },
          trans.__('saved from %1', shortVersion(version.parent))
        ),
      changes.length > 0 &&
        h(
          'ul',
          { className: 'jp-nj-EnvironmentVersion-changes' },
          ...changes.slice(0, 8).map(change => h('li', {}, change)),
          changes.length > 8 &&
            h('li', {}, trans.__('… %1 more', changes.length - 8))
        )
    );
  }

  private _use(notebook: NotebookPanel, version: IEnvironmentVersion): void {
    void this._actions.useVersion(notebook, version).catch(error => {
      this._error.textContent = this._trans.__(
        'Cannot switch: %1',
        (error as Error).message
      );
      this._error.hidden = false;
    });
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
  /** How many of a build's newest lines its card keeps. */
  export const LIVE_LOG_LINES = 200;

  /** What the card shows about the latest build of an environment. */
  export interface IOutcome {
    kind: 'building' | 'built' | 'failed';
    backend: string;
    started: number;
    text: string;
  }

  /** What a running build's card says. */
  export function progressText(
    trans: ITrans,
    backend: string,
    seconds: number
  ): string {
    return trans.__('Building (%1)… %2 s', backend, seconds);
  }

  export function renderOutcome(outcome: IOutcome, trans: ITrans): HTMLElement {
    const props = {
      className: `jp-nj-Environment-outcome jp-nj-mod-${outcome.kind}`,
      dataset: { outcome: outcome.kind }
    };
    if (outcome.kind === 'building') {
      const seconds = Math.round((Date.now() - outcome.started) / 1000);
      return h(
        'div',
        props,
        h(
          'span',
          {
            className: 'jp-nj-Environment-progress',
            dataset: {
              started: String(outcome.started),
              backend: outcome.backend
            }
          },
          progressText(trans, outcome.backend, seconds)
        )
      );
    }
    if (outcome.kind === 'built') {
      return h('div', props, outcome.text);
    }
    const { summary, log } = splitBuildLog(outcome.text);
    return h(
      'div',
      props,
      h(
        'div',
        { className: 'jp-nj-Environment-failure' },
        trans.__('Build (%1) failed: %2', outcome.backend, summary)
      ),
      log &&
        h(
          'details',
          { open: true },
          h('summary', {}, trans.__('Build log')),
          h('pre', { className: 'jp-nj-Environment-log' }, log)
        )
    );
  }
}
