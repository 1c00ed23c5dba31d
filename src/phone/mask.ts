import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { formatKey } from './international.js';

/**
 * Masks a number for logs: country and area code and the last two digits stay readable,
 * the rest becomes "*" ("+41 21 *** ** 00"). Accepts a match key or a raw number.
 */
export function maskNumber(value: string): string {
  const text = value.startsWith('#') ? value.slice(1) : value;
  // A key of the usual form is written without parsing it again.
  const international =
    formatKey(text) ??
    (text.startsWith('+') ? parsePhoneNumberFromString(text) : undefined)?.formatInternational();
  if (international) {
    const groups = international.split(' ');
    const head = groups.slice(0, 2).join(' ');
    const tail = maskDigits(groups.slice(2).join(' '), 2);
    return tail ? `${head} ${tail}` : head;
  }
  return maskDigits(text, 2);
}

function maskDigits(text: string, keep: number): string {
  let seen = 0;
  let out = '';
  for (let i = text.length - 1; i >= 0; i--) {
    const c = text[i]!;
    if (c >= '0' && c <= '9') {
      out = (seen < keep ? c : '*') + out;
      seen++;
    } else {
      out = c + out;
    }
  }
  return out;
}
