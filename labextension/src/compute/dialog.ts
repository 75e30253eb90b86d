/**
 * "Add runtime": the dialog that declares a new runtime of a notebook (name, environment,
 * version and backend).
 */
import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { h } from '../dom';
import type { ITrans } from '../translation';
import { describeVersion, sortedVersions } from '../runtimes/format';
import type { IEnvironment } from '../runtimes/tokens';
import { runtimeNameProblem, suggestRuntimeName } from './format';
import type { IDeclaredRuntime } from './tokens';

/**
 * A new runtime: its name in the notebook and its declaration.
 */
export interface INewRuntime {
  /** The runtime's name. */
  name: string;
  /** What `metadata.nj.runtimes.<name>` gets. */
  runtime: IDeclaredRuntime;
}

/** The version choice that leaves the version to the runtime's first start. */
const NEWEST = 'newest';

/** The backend choice that leaves the backend to the server (`NJApp.runtime_backend`). */
const AUTOMATIC = 'auto';

function describeBackend(backend: string, trans: ITrans): string {
  return backend === 'docker'
    ? trans.__('Docker (a container)')
    : backend === 'local'
      ? trans.__('Local (a venv on the server)')
      : backend;
}

/**
 * The dialog's form. Its value is read when the user accepts.
 */
class NewRuntimeBody extends Widget implements Dialog.IBodyWidget<INewRuntime> {
  constructor(
    private readonly _environments: IEnvironment[],
    taken: string[],
    private readonly _trans: ITrans,
    initial: INewRuntime | null
  ) {
    super();
    this.addClass('jp-nj-AddRuntime');
    const trans = _trans;
    const usable = _environments.filter(e => e.versions.length > 0);
    this._environment = h(
      'select',
      {
        className: 'jp-mod-styled jp-nj-AddRuntime-environment',
        on: { change: () => this._environmentChanged(taken) }
      },
      ..._environments.map(e =>
        h(
          'option',
          {
            value: e.name,
            disabled: e.versions.length === 0,
            // The whole reason, with what to install, on hover.
            title: e.versions.length === 0 ? (e.local_problem ?? '') : ''
          },
          e.versions.length > 0
            ? `${e.name} — ${e.display_name}`
            : e.local_problem
              ? trans.__('%1 (not available on this server)', e.name)
              : trans.__(
                  '%1 (not built: build it in the Environments panel)',
                  e.name
                )
        )
      )
    );
    this._version = h('select', {
      className: 'jp-mod-styled jp-nj-AddRuntime-version',
      on: { change: () => this._versionChanged() }
    });
    this._backend = h('select', {
      className: 'jp-mod-styled jp-nj-AddRuntime-backend'
    });
    this._name = h('input', {
      className: 'jp-mod-styled jp-nj-AddRuntime-name',
      type: 'text',
      spellcheck: false,
      on: { input: () => (this._nameEdited = true) }
    });
    const first =
      usable.find(e => e.name === initial?.runtime.environment) ??
      usable.find(e => e.name !== 'python') ??
      usable[0];
    if (first) {
      this._environment.value = first.name;
    }
    this._environmentChanged(taken);
    if (initial) {
      this._name.value = initial.name;
      this._nameEdited = true;
    }
    this.node.append(
      h('label', {}, h('span', {}, trans.__('Environment')), this._environment),
      h('label', {}, h('span', {}, trans.__('Version')), this._version),
      h('label', {}, h('span', {}, trans.__('Backend')), this._backend),
      h('label', {}, h('span', {}, trans.__('Runtime name')), this._name),
      h(
        'p',
        { className: 'jp-nj-AddRuntime-hint' },
        trans.__(
          'The runtime starts when its first cell runs. Its files reach the other runtimes ' +
            'through the results folder ($NJ_RESULTS, /results in containers).'
        )
      )
    );
  }

  getValue(): INewRuntime {
    const environment = this._environment.value;
    const choice = this._version.value;
    const runtime: IDeclaredRuntime = { environment };
    if (choice !== NEWEST) {
      const version = this._environments
        .find(e => e.name === environment)
        ?.versions.find(v => v.version === choice);
      runtime.version = choice;
      runtime.backend = version?.backend;
    } else if (this._backend.value !== AUTOMATIC) {
      runtime.backend = this._backend.value;
    }
    return { name: this._name.value.trim(), runtime };
  }

  private _environmentChanged(taken: string[]): void {
    const trans = this._trans;
    const environment = this._environments.find(
      e => e.name === this._environment.value
    );
    const versions = environment ? sortedVersions(environment.versions) : [];
    this._version.replaceChildren(
      h(
        'option',
        { value: NEWEST },
        trans.__('The newest (pinned when it first starts)')
      ),
      ...versions.map(v =>
        h('option', { value: v.version }, describeVersion(v))
      )
    );
    if (!this._nameEdited && environment) {
      this._name.value = suggestRuntimeName(environment.name, taken);
    }
    this._versionChanged();
  }

  /**
   * The backends the chosen version can run on: a version is one backend's; "the newest" can
   * be left to the server or run where the user says, where this environment can run.
   */
  private _versionChanged(): void {
    const trans = this._trans;
    const environment = this._environments.find(
      e => e.name === this._environment.value
    );
    const chosen = environment?.versions.find(
      v => v.version === this._version.value
    );
    if (chosen) {
      this._backend.replaceChildren(
        h(
          'option',
          { value: chosen.backend },
          describeBackend(chosen.backend, trans)
        )
      );
      this._backend.disabled = true;
      return;
    }
    const hasImage = !!environment?.versions.some(v => v.backend === 'docker');
    const localProblem = environment?.local_problem ?? '';
    this._backend.replaceChildren(
      h(
        'option',
        { value: AUTOMATIC },
        trans.__(
          'Automatic: Docker where the image is built and the engine answers, else local'
        )
      ),
      h(
        'option',
        {
          value: 'docker',
          disabled: !hasImage,
          title: hasImage
            ? ''
            : trans.__(
                'No image of this environment yet: build it for Docker in the Environments panel.'
              )
        },
        describeBackend('docker', trans)
      ),
      h(
        'option',
        { value: 'local', disabled: !!localProblem, title: localProblem },
        describeBackend('local', trans)
      )
    );
    this._backend.disabled = false;
  }

  private _environment: HTMLSelectElement;
  private _version: HTMLSelectElement;
  private _backend: HTMLSelectElement;
  private _name: HTMLInputElement;
  private _nameEdited = false;
}

/**
 * Ask for a new runtime of a notebook whose runtimes are `taken`; null when the user cancels.
 * A name that is taken or not valid is said, and the dialog comes back with what was typed.
 */
export async function askNewRuntime(
  environments: IEnvironment[],
  taken: string[],
  trans: ITrans
): Promise<INewRuntime | null> {
  let initial: INewRuntime | null = null;
  for (;;) {
    const result: Dialog.IResult<INewRuntime> = await showDialog<INewRuntime>({
      title: trans.__('Add runtime'),
      body: new NewRuntimeBody(environments, taken, trans, initial),
      buttons: [
        Dialog.cancelButton(),
        Dialog.okButton({ label: trans.__('Add runtime') })
      ],
      focusNodeSelector: '.jp-nj-AddRuntime-environment'
    });
    if (!result.button.accept || !result.value) {
      return null;
    }
    const problem = result.value.runtime.environment
      ? runtimeNameProblem(result.value.name, taken, trans)
      : trans.__('Build an environment first (Environments panel).');
    if (!problem) {
      return result.value;
    }
    await showErrorMessage(trans.__('Cannot add this runtime'), problem);
    initial = result.value;
  }
}
