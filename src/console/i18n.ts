import { de } from './messages/de.js';
import { en, type MessageKey, type Messages } from './messages/en.js';
import { fr } from './messages/fr.js';

export const LANGUAGES = { en, de, fr } as const satisfies Record<string, Messages>;
export type Lang = keyof typeof LANGUAGES;
export const LANGS = Object.keys(LANGUAGES) as Lang[];

const isLang = (value: string): value is Lang => Object.hasOwn(LANGUAGES, value);

/**
 * The language to answer in: the one chosen in the console (its cookie), else the first of the
 * browser's `Accept-Language` (by weight) that the console speaks, else English.
 */
export function chooseLang(chosen: string | undefined, acceptLanguage: string | undefined): Lang {
  if (chosen !== undefined && isLang(chosen)) return chosen;
  const wanted = (acceptLanguage ?? '')
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find(Boolean);
      return {
        lang: tag.trim().toLowerCase().split('-')[0] ?? '',
        q: q === undefined ? 1 : Number(q),
        index,
      };
    })
    .filter((entry) => entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  return wanted.map((entry) => entry.lang).find(isLang) ?? 'en';
}

export type Translate = (key: MessageKey, values?: Readonly<Record<string, string | number>>) => string;

/** The catalogue of `lang` as a function: `{name}` in a message takes `values.name`. */
export function translator(lang: Lang): Translate {
  const messages = LANGUAGES[lang];
  return (key, values) =>
    messages[key].replace(/\{(\w+)\}/g, (whole, name: string) =>
      values && Object.hasOwn(values, name) ? String(values[name]) : whole,
    );
}
