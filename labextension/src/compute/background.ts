/**
 * Run > Run in the Background: the notebook runs headless on the server (`POST /nj/api/runs`,
 * every cell on its runtime, in a fresh set of runtimes), while a notification shows how far it
 * is; when it ends the notification opens the result notebook.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import type { Event } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { h } from '../dom';
import type { ITrans } from '../translation';
import type { ComputeClient } from './client';
import {
  applyRunEvent,
  defaultRunOutput,
  parseParameters,
  runProgress
} from './format';
import type { IRun, IRunEvent } from './tokens';

/** The schema of the server's run progress events (`jupyter_nj/compute/events/runs.yaml`). */
export const RUN_EVENT_SCHEMA = 'https://events.jupyter.org/jupyter_nj/runs/v1';

/** How often a run is asked for when no event came (events can be missed while reconnecting). */
const POLL_MS = 3000;

/**
 * What the user asked for: where the result goes and the parameters.
 */
interface IRunRequest {
  output: string;
  parameters: string;
}

class RunRequestBody extends Widget implements Dialog.IBodyWidget<IRunRequest> {
  constructor(path: string, withParameters: boolean, trans: ITrans) {
    super();
    this.addClass('jp-nj-RunInBackground');
    this._output = h('input', {
      className: 'jp-mod-styled jp-nj-RunInBackground-output',
      type: 'text',
      value: defaultRunOutput(path),
      spellcheck: false
    });
    this._parameters = h('textarea', {
      className: 'jp-mod-styled jp-nj-RunInBackground-parameters',
      rows: 4,
      spellcheck: false,
      placeholder: 'alpha = 0.5\nname = "text"'
    });
    this.node.append(
      h(
        'p',
        {},
        trans.__(
          'The notebook as it is now runs on the server in fresh runtimes, every cell on its ' +
            'own runtime; you can keep working. The result is saved as a version labelled as a run.'
        )
      ),
      h(
        'label',
        {},
        h('span', {}, trans.__('Save the result as')),
        this._output
      ),
      ...(withParameters
        ? [
            h(
              'label',
              {},
              h(
                'span',
                {},
                trans.__(
                  'Parameters (one "name = value" per line; injected after the cell tagged "parameters")'
                )
              ),
              this._parameters
            )
          ]
        : [])
    );
  }

  getValue(): IRunRequest {
    return {
      output: this._output.value.trim(),
      parameters: this._parameters.value
    };
  }

  private _output: HTMLInputElement;
  private _parameters: HTMLTextAreaElement;
}

/**
 * The background runs started from this page, and their notifications.
 */
export class BackgroundRuns {
  /**
   * @param _client - the Compute REST client.
   * @param _open - opens a notebook by API path (the result).
   * @param _trans - the jupyter-nj translation bundle.
   */
  constructor(
    private readonly _client: ComputeClient,
    private readonly _open: (path: string) => void,
    private readonly _trans: ITrans
  ) {}

  /** The runs started here that have not ended, by id. */
  get active(): ReadonlyMap<string, IRun> {
    return new Map([...this._runs].map(([id, t]) => [id, t.run]));
  }

  /**
   * Ask where the result goes (and the parameters, when the notebook has a `parameters` cell),
   * then start the run. Resolves with the run, or null when the user cancels.
   */
  async start(path: string, withParameters: boolean): Promise<IRun | null> {
    const trans = this._trans;
    const answer = await showDialog<IRunRequest>({
      title: trans.__('Run in the Background'),
      body: new RunRequestBody(path, withParameters, trans),
      buttons: [
        Dialog.cancelButton(),
        Dialog.okButton({ label: trans.__('Run') })
      ],
      focusNodeSelector: '.jp-nj-RunInBackground-output'
    });
    if (!answer.button.accept || !answer.value) {
      return null;
    }
    let parameters: Record<string, unknown>;
    try {
      parameters = parseParameters(answer.value.parameters, trans);
    } catch (error) {
      Notification.error((error as Error).message, { autoClose: false });
      return null;
    }
    let run: IRun;
    try {
      run = await this._client.startRun(
        path,
        answer.value.output || defaultRunOutput(path),
        parameters
      );
    } catch (error) {
      Notification.error(
        trans.__('Cannot run %1: %2', path, (error as Error).message),
        { autoClose: false }
      );
      return null;
    }
    const notification = Notification.emit(
      runProgress(run, trans),
      'in-progress',
      {
        autoClose: false,
        data: { run: run.id }
      }
    );
    this._runs.set(run.id, { run, notification });
    this._poll(run.id);
    return run;
  }

  /** Follow a run's progress event from the server's event stream. */
  handleEvent(event: Event.Emission): void {
    if (event.schema_id !== RUN_EVENT_SCHEMA) {
      return;
    }
    const data = event as unknown as IRunEvent;
    const tracked = this._runs.get(data.run);
    if (tracked) {
      this._update(applyRunEvent(tracked.run, data));
    }
  }

  /** Stop following every run (the plugin goes away). */
  dispose(): void {
    for (const tracked of this._runs.values()) {
      window.clearTimeout(tracked.timer);
    }
    this._runs.clear();
  }

  private _poll(id: string): void {
    const tracked = this._runs.get(id);
    if (!tracked) {
      return;
    }
    window.clearTimeout(tracked.timer);
    tracked.timer = window.setTimeout(async () => {
      try {
        this._update(await this._client.run(id));
      } catch {
        // The server restarted or is out of reach: try again at the next tick.
      }
      this._poll(id);
    }, POLL_MS);
  }

  private _update(run: IRun): void {
    const tracked = this._runs.get(run.id);
    if (!tracked) {
      return;
    }
    tracked.run = run;
    const trans = this._trans;
    const message = runProgress(run, trans);
    if (run.state !== 'succeeded' && run.state !== 'failed') {
      Notification.update({
        id: tracked.notification,
        message,
        type: 'in-progress'
      });
      return;
    }
    // The final state comes only once the result is saved (runner.py), so it can be opened.
    window.clearTimeout(tracked.timer);
    this._runs.delete(run.id);
    Notification.update({
      id: tracked.notification,
      message,
      type: run.state === 'succeeded' ? 'success' : 'error',
      autoClose: false,
      // A run that failed before any runtime started saved nothing to open.
      actions:
        run.state === 'succeeded' || run.version
          ? [
              {
                label: trans.__('Open result'),
                callback: () => this._open(run.output)
              }
            ]
          : []
    });
  }

  private _runs = new Map<
    string,
    { run: IRun; notification: string; timer?: number }
  >();
}
