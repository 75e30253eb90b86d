/**
 * The one way jupyter-nj's widgets build DOM: `h(tag, props, ...children)`. Panels are redrawn
 * from their models, so every node is made in one expression, with its stable classes and data
 * attributes (what tests and styles find it by) next to its content.
 */
import type { LabIcon } from '@jupyterlab/ui-components';

/**
 * What `h` appends: nodes, text, and nothing for `null`, `undefined` and `false`, so optional
 * parts are written inline (`label && h('span', ...)`).
 */
export type Child = Node | string | null | undefined | false;

/**
 * The properties `h` sets on a new element: any of its writable properties (`className`,
 * `title`, `disabled`, `type`, ...), plus
 * - `dataset`: `data-*` attributes,
 * - `attrs`: other attributes, set with `setAttribute` (`aria-label`, `role`),
 * - `on`: event listeners by event name.
 */
export type Props<E extends HTMLElement> = {
  // Index signatures (a form's named controls) are left out: they would type every key as any.
  [
    K in keyof E as string extends K
      ? never
      : number extends K
        ? never
        : K extends 'dataset' | 'style' | 'children'
          ? never
          : K
  ]?: E[K];
} & {
  dataset?: Record<string, string>;
  attrs?: Record<string, string>;
  on?: {
    [K in keyof HTMLElementEventMap]?: (event: HTMLElementEventMap[K]) => void;
  };
};

/**
 * A new element with properties and children.
 *
 * @param tag - the element's tag name.
 * @param props - properties, data attributes, attributes and listeners (see `Props`).
 * @param children - what goes inside, in order.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: NoInfer<Props<HTMLElementTagNameMap[K]>> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  const { dataset, attrs, on, ...rest } = props;
  Object.assign(node, rest);
  if (dataset) {
    Object.assign(node.dataset, dataset);
  }
  for (const [name, value] of Object.entries(attrs ?? {})) {
    node.setAttribute(name, value);
  }
  for (const [type, listener] of Object.entries(on ?? {})) {
    node.addEventListener(type, listener as EventListener);
  }
  node.append(
    ...children.filter(
      (child): child is Node | string =>
        child !== null && child !== undefined && child !== false
    )
  );
  return node;
}

/**
 * A borderless icon button, as in the headers of jupyter-nj's side panels.
 *
 * @param className - the button's own class (tests and styles find it by this).
 * @param title - its tooltip, which also names it for screen readers.
 * @param icon - the JupyterLab icon drawn in it.
 * @param props - further properties (a click listener, data attributes).
 */
export function iconButton(
  className: string,
  title: string,
  icon: LabIcon,
  props: Props<HTMLButtonElement> = {}
): HTMLButtonElement {
  const button = h('button', {
    type: 'button',
    ...props,
    className: `jp-nj-IconButton ${className}`,
    title,
    attrs: { 'aria-label': title, ...props.attrs }
  });
  icon.element({ container: button, height: '16px', width: '16px' });
  return button;
}
