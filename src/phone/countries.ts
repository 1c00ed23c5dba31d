import { createRequire } from 'node:module';
import type { CountryCode } from 'libphonenumber-js';

const require = createRequire(import.meta.url);

let countries: Readonly<Record<string, unknown>> | undefined;

/**
 * Whether numbers can be read in `value` (a region libphonenumber knows): its metadata alone is
 * read, not the library, so that validating a config does not load number parsing.
 */
export function isRegion(value: string): value is CountryCode {
  countries ??= (require('libphonenumber-js/metadata.max.json') as { countries: Record<string, unknown> })
    .countries;
  return Object.hasOwn(countries, value);
}
