import type { LabIcon } from '@jupyterlab/ui-components';

/**
 * A borderless icon button, as in the headers of jupyter-nj's side panels.
 *
 * @param className - the button's own class (tests and styles find it by this).
 * @param title - its tooltip, which also names it for screen readers.
 * @param icon - the JupyterLab icon drawn in it.
 */
export function iconButton(
  className: string,
  title: string,
  icon: LabIcon
): HTMLButtonElement {
  const button = document.createElement('button');
  button.className = `jp-nj-IconButton ${className}`;
  button.title = title;
  button.setAttribute('aria-label', title);
  icon.element({ container: button, height: '16px', width: '16px' });
  return button;
}
