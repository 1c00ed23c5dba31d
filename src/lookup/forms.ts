import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import type { MatchKey } from '../phone/index.js';
import type { NumberForms } from '../sources/types.js';

/** The forms of a key that live sources may search for; computed only when a source asks. */
export function numberForms(key: MatchKey): NumberForms {
  let forms: NumberForms | undefined;
  const get = (): NumberForms => {
    if (forms) return forms;
    const digits = key.replace(/^[+#]/, '');
    const parsed = key.startsWith('+') ? parsePhoneNumberFromString(key) : undefined;
    forms = {
      e164: parsed ? parsed.number : digits,
      digits,
      national: parsed ? parsed.formatNational().replace(/\D/g, '') : digits,
      international: parsed ? parsed.formatInternational() : digits,
    };
    return forms;
  };
  return {
    get e164() {
      return get().e164;
    },
    get digits() {
      return get().digits;
    },
    get national() {
      return get().national;
    },
    get international() {
      return get().international;
    },
  };
}
