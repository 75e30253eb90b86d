/**
 * jupyter-nj's JupyterLab plugins, one per pillar (each in its folder: `plugin.ts` activates it,
 * `commands.ts` adds its commands, `tokens.ts` holds its types, command ids and the token of the
 * model it provides), and the tokens other extensions can depend on.
 */
import { computePlugin } from './compute/plugin';
import { historyPlugin } from './history/plugin';
import { runtimesPlugin } from './runtimes/plugin';
import { secretsPlugin } from './secrets/plugin';
import { sharingPlugin } from './sharing/plugin';
import { statusPlugin } from './status/plugin';

export default [
  statusPlugin,
  historyPlugin,
  runtimesPlugin,
  computePlugin,
  secretsPlugin,
  sharingPlugin
];
export * from './tokens';
export * from './compute/tokens';
export * from './history/tokens';
export * from './runtimes/tokens';
export * from './secrets/tokens';
export * from './sharing/tokens';
