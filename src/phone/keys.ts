import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { cleanNumber, isNoNumber, splitNumbers } from './clean.js';
import { internationalKey } from './international.js';
import { nationalKey } from './national.js';

export { isRegion } from './countries.js';

/**
 * Match keys. A number is matched on exactly one canonical key, computed once when it is stored:
 * - `+41215522000`: E.164, for every number that can be read as a possible number;
 * - `#2001`: digits of a short internal number (or anything unreadable), matched only exactly.
 * No suffix matching: "+33 21 552 20 00" never meets "+41 21 552 20 00".
 */
export type MatchKey = string;

/** Numbers up to this many digits, written without "+" or trunk "0", are internal extensions. */
const MAX_SHORT_DIGITS = 6;

function shortKey(digits: string): MatchKey {
  return `#${digits.replace(/^\+/, '')}`;
}

function e164(text: string, region: CountryCode | undefined, valid: boolean): string | undefined {
  const parsed = parsePhoneNumberFromString(text, region);
  if (!parsed) return undefined;
  if (valid ? !parsed.isValid() : !parsed.isPossible()) return undefined;
  return parsed.number;
}

/** The key of one stored number, read in `region` unless written internationally. */
export function storedKey(raw: string, region: CountryCode): MatchKey | undefined {
  return keyOfStored(cleanNumber(raw).digits, region, true);
}

/** `storedKey`, every form read with libphonenumber's parser. */
export function parsedStoredKey(raw: string, region: CountryCode): MatchKey | undefined {
  return keyOfStored(cleanNumber(raw).digits, region, false);
}

function keyOfStored(digits: string, region: CountryCode, quick: boolean): MatchKey | undefined {
  if (digits === '' || digits === '+') return undefined;
  if (digits.startsWith('+')) {
    // A valid number in international form, the national one in the usual regions, are read
    // without the parser: the same key (test/unit/phone-national.test.ts).
    return (
      (quick ? internationalKey(digits.slice(1)) : undefined) ??
      e164(digits, undefined, false) ??
      shortKey(digits)
    );
  }
  if (digits.length <= MAX_SHORT_DIGITS && !digits.startsWith('0')) return shortKey(digits);
  return (
    (quick ? nationalKey(digits, region) : undefined) ??
    e164(digits, region, true) ??
    // International digits saved without "+" ("33 1 42 68 53 00").
    (digits.startsWith('0') ? undefined : e164(`+${digits}`, undefined, true)) ??
    e164(digits, region, false) ??
    shortKey(digits)
  );
}

/** All keys of a stored field, which may hold several numbers. Duplicates removed, order kept. */
export function storedKeys(field: string, region: CountryCode): MatchKey[] {
  const keys = new Set<MatchKey>();
  for (const part of splitNumbers(field)) {
    const key = storedKey(part, region);
    if (key) keys.add(key);
  }
  return [...keys];
}

/**
 * The key to look up for a number the telephone system sends. It usually comes as international
 * digits without "+" ("41215522000"), sometimes with "+" or "00", or in national form.
 * Returns undefined for an empty, withheld or digit-less number.
 */
export function incomingKey(input: string, region: CountryCode): MatchKey | undefined {
  // The usual form, a valid number in international digits, is read without the parser: the same
  // key (test/unit/phone-international.test.ts).
  return internationalKey(input) ?? parsedIncomingKey(input, region);
}

/** `incomingKey`, every form read with libphonenumber's parser. */
export function parsedIncomingKey(input: string, region: CountryCode): MatchKey | undefined {
  if (isNoNumber(input)) return undefined;
  const { digits } = cleanNumber(input);
  if (digits === '' || digits === '+') return undefined;
  if (digits.startsWith('+')) return e164(digits, undefined, false) ?? shortKey(digits);
  if (digits.startsWith('0')) return e164(digits, region, false) ?? shortKey(digits);
  if (digits.length <= MAX_SHORT_DIGITS) return shortKey(digits);
  return (
    e164(`+${digits}`, undefined, true) ??
    e164(digits, region, true) ??
    e164(`+${digits}`, undefined, false) ??
    shortKey(digits)
  );
}
