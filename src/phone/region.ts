import { createRequire } from 'node:module';
import type { CountryCode } from 'libphonenumber-js';
import { isRegion } from './keys.js';

type Countries = typeof import('i18n-iso-countries');

// Country names in the languages of callcard's users (Switzerland's three and English).
const LANGUAGES = ['en', 'de', 'fr', 'it'] as const;
const require = createRequire(import.meta.url);
let loaded: Countries | undefined;

/** The names are loaded on the first country that is not a code: commands that read none start faster. */
function countries(): Countries {
  if (!loaded) {
    loaded = require('i18n-iso-countries') as Countries;
    for (const language of LANGUAGES)
      loaded.registerLocale(require(`i18n-iso-countries/langs/${language}.json`));
  }
  return loaded;
}

/** The same few names come again on every row: each is looked up once. */
const known = new Map<string, CountryCode | null>();
const MAX_KNOWN = 10_000;

/**
 * The region that a country, as a CRM or a file gives it, stands for: an ISO code (`CH`, `CHE`) or
 * a name in English, German, French or Italian (`Switzerland`, `Schweiz`, `Suisse`, `Svizzera`),
 * in any case and with or without accents. Undefined when it is none of these.
 */
export function regionOf(country: string): CountryCode | undefined {
  const text = country.trim();
  if (text === '') return undefined;
  const cached = known.get(text);
  if (cached !== undefined) return cached ?? undefined;
  const found = lookUp(text);
  if (known.size >= MAX_KNOWN) known.clear();
  known.set(text, found ?? null);
  return found;
}

function lookUp(text: string): CountryCode | undefined {
  const upper = text.toUpperCase();
  if (/^[A-Z]{2}$/.test(upper)) return isRegion(upper) ? upper : undefined;
  const names = countries();
  const code =
    (/^[A-Z]{3}$/.test(upper) ? names.alpha3ToAlpha2(upper) : undefined) ??
    LANGUAGES.map((language) => names.getSimpleAlpha2Code(text, language)).find(Boolean);
  return code && isRegion(code) ? code : undefined;
}
