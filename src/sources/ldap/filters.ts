import {
  AndFilter,
  EqualityFilter,
  type Filter,
  FilterParser,
  GreaterThanEqualsFilter,
  OrFilter,
  PresenceFilter,
  SubstringFilter,
} from 'ldapts';
import type { NumberForms } from '../types.js';
import { generalizedTime } from './entry.js';

/** The shortest number ending worth a substring search: shorter ones match too many strangers. */
const MIN_ENDING = 6;

/** Reads a filter written as text (RFC 4515); throws with the reason when it is not one. */
export function parseFilter(text: string): Filter {
  return FilterParser.parseString(text.trim());
}

/** People with at least one of the phone attributes; AD's users and contacts are `person`s too. */
export function defaultFilter(phones: readonly string[]): Filter {
  return new AndFilter({
    filters: [
      new EqualityFilter({ attribute: 'objectClass', value: 'person' }),
      new OrFilter({ filters: phones.map((attribute) => new PresenceFilter({ attribute })) }),
    ],
  });
}

const both = (base: Filter, extra: Filter) => new AndFilter({ filters: [base, extra] });

/**
 * Entries changed since a time, for incremental syncs. Several time attributes are ORed: a server
 * that does not know one (OpenLDAP has no whenChanged) reads that part as undefined, not an error.
 */
export function changedSince(base: Filter, attributes: readonly string[], since: number): Filter {
  const value = generalizedTime(since);
  return both(
    base,
    new OrFilter({
      filters: attributes.map((attribute) => new GreaterThanEqualsFilter({ attribute, value })),
    }),
  );
}

/**
 * Entries holding the number in one of its usual written forms, in any phone attribute. The filter
 * is sent as objects, so a value's `*`, `(`, `)` or `\` are the characters themselves, never
 * filter syntax. OpenLDAP compares telephone numbers ignoring spaces and hyphens, so
 * `+41215522000` also finds `+41 21 552 20 00` and `+41-21-552-20-00`.
 */
export function numberFilter(base: Filter, phones: readonly string[], forms: NumberForms): Filter {
  const values = new Set([forms.e164, forms.digits, forms.national, forms.international]);
  // `0041 21 552 20 00`: the international number after the usual 00 prefix.
  if (forms.e164.startsWith('+')) values.add(`00${forms.digits}`);
  const filters = phones.flatMap((attribute) =>
    [...values].map((value) => new EqualityFilter({ attribute, value })),
  );
  return both(base, new OrFilter({ filters }));
}

/**
 * The digits a number ends with however it is written (`215522000` for +41 21 552 20 00, in
 * `021 552 20 00`, `+41 (0)21 552 20 00` and `0041 21 552 20 00` alike): what its international and
 * national forms share. Undefined for short internal numbers, which match only exactly.
 */
export function numberEnding(forms: NumberForms): string | undefined {
  const { digits, national } = forms;
  let length = 0;
  while (
    length < digits.length &&
    length < national.length &&
    digits[digits.length - 1 - length] === national[national.length - 1 - length]
  ) {
    length++;
  }
  return length >= MIN_ENDING ? digits.slice(digits.length - length) : undefined;
}

/** Entries with a phone attribute ending in `ending` (a substring search; servers may not index it). */
export function endingFilter(base: Filter, phones: readonly string[], ending: string): Filter {
  const filters = phones.map((attribute) => new SubstringFilter({ attribute, final: ending }));
  return both(base, new OrFilter({ filters }));
}
