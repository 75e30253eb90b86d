/**
 * Translation of jupyter-nj's user-visible strings. No JupyterLab imports, so the pure modules
 * that word things (day labels, authors) take a bundle and are still unit-tested in node.
 */

/**
 * The gettext domain of jupyter-nj's strings (`ITranslator.load(TRANSLATION_DOMAIN)`).
 */
export const TRANSLATION_DOMAIN = 'jupyter_nj';

/**
 * What jupyter-nj uses of JupyterLab's `TranslationBundle`: `__(msgid, ...args)`, where `%1`,
 * `%2`... in the message stand for the arguments.
 */
export interface ITrans {
  /** The message in the user's language, with `%n` replaced by the n-th argument. */
  __(msgid: string, ...args: any[]): string;
}

/**
 * The untranslated bundle: for the pure helpers when no application translator is given.
 */
export const untranslated: ITrans = {
  __: (msgid: string, ...args: any[]): string =>
    msgid.replace(/%(\d+)/g, (found, index) =>
      Number(index) <= args.length ? String(args[Number(index) - 1]) : found
    )
};
