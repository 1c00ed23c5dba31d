/**
 * Text clean-up for phone numbers as people type them into CRMs and address books.
 * Everything here is pure string work; parsing into E.164 happens in keys.ts.
 */

// Separators between several numbers kept in one field: ";", ",", "|", new lines, and words like "or".
const LIST_SEPARATORS = /[;,|\n\r]+|\s+(?:or|oder|ou|o|und|and|et|e|bzw\.?)\s+/i;
// Parameters of an RFC 3966 "tel:" URI, as vCard 4 stores numbers ("tel:+1-212-555-0123;ext=45"):
// there ";" starts a parameter, not a second number. "ext" is kept as an extension, the others
// ("phone-context", "isub") say nothing about the number itself.
const URI_PARAMETER = /;\s*([a-z][a-z\d-]*)=([^;,|\s]*)/gi;
// "021 552 20 00 / 079 123 45 67": a slash with spaces around it, between two full numbers.
const SPACED_SLASH = /\s+\/\s+/;
// A "+" that starts a second number right after the digits of a first one.
const SECOND_PLUS = /(?<=\d)\s+(?=\+)/;
// Trailing extension: "ext. 12", "x12", "intern 12", "DW 12", "Durchwahl: 12", "poste 12", "#12".
const EXTENSION =
  /\s*(?:(?:ext(?:ension|n)?|x|intern[eo]?|int|dw|durchwahl|nebenstelle|poste|interno|app)\.?|#)\s*:?\s*(\d{1,6})\s*$/i;
const ANY_DIGIT = /\p{Nd}/u;
const TRUNK_ZERO = /\(\s*0\s*\)/;
// Countries whose national numbers keep the leading 0 after the country code (Italy, San Marino, Vatican).
const KEEPS_TRUNK_ZERO = /^(?:\+|00)\s*(?:39|378|379)/;
const WITHHELD =
  /^\s*(?:anonymous|anonym|anonyme|unknown|unbekannt|inconnu|withheld|private|privat|restricted|unavailable|clip_?no_?screening|-+)\s*$/i;

export interface CleanNumber {
  /** Digits, with a leading "+" when the number was written in international form. */
  readonly digits: string;
  /** The extension that followed the number, when there was one. */
  readonly extension?: string;
}

/** A written number is far shorter; longer text is not one (and would only cost time to scan). */
const MAX_NUMBER_LENGTH = 100;
/** A field holding several numbers with their labels; the rest of a longer field is not read. */
const MAX_FIELD_LENGTH = 1000;

/**
 * Folds the characters people paste (non-breaking or thin spaces, full-width digits, odd dashes and
 * quotes), and runs of spaces into one, so that no pattern below meets a long run of spaces.
 */
function fold(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/[^\S\r\n]+/g, ' ');
}

function digitCount(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return n;
}

/** True for an empty, withheld or digit-less number: nothing to look up, and not an error. */
export function isNoNumber(text: string): boolean {
  // Any decimal digit counts, full-width ones too: they are folded to ASCII digits later.
  return WITHHELD.test(text) || !ANY_DIGIT.test(text);
}

/** Splits a field that may hold several numbers ("Tel: 021 552 20 00; Mobile: 079 123 45 67"). */
export function splitNumbers(field: string): string[] {
  const out: string[] = [];
  const text = fold(field)
    .slice(0, MAX_FIELD_LENGTH)
    .replace(URI_PARAMETER, (_, name: string, value: string) =>
      name.toLowerCase() === 'ext' ? ` ext ${value}` : '',
    );
  for (const piece of text.split(LIST_SEPARATORS)) {
    for (const half of splitSpacedSlash(piece)) {
      for (const part of half.split(SECOND_PLUS)) {
        if (digitCount(part) > 0) out.push(part.trim());
      }
    }
  }
  return out;
}

// "089 / 1234567" is one German number; "021 552 20 00 / 079 123 45 67" is two.
function splitSpacedSlash(piece: string): string[] {
  const halves = piece.split(SPACED_SLASH);
  if (halves.length > 1 && halves.every((h) => digitCount(h) >= 7)) return halves;
  return [piece];
}

/** Cleans one number: drops labels, extension, punctuation and the "(0)" trunk prefix; "00" becomes "+". */
export function cleanNumber(raw: string): CleanNumber {
  let text = fold(raw).trim().replace(/^tel:/i, '');
  if (text.length > MAX_NUMBER_LENGTH) return { digits: '' };
  let extension: string | undefined;
  const ext = EXTENSION.exec(text);
  if (ext && digitCount(text.slice(0, ext.index)) >= 3) {
    extension = ext[1];
    text = text.slice(0, ext.index);
  }
  text = text.replace(TRUNK_ZERO, KEEPS_TRUNK_ZERO.test(text.replace(/^[^+\d]*/, '')) ? '0' : '');
  // Labels and anything else before the number itself ("Tel:", "P:", "Mobile (work)").
  const start = text.search(/[+\d]/);
  text = start < 0 ? '' : text.slice(start);
  const plus = text.startsWith('+');
  let digits = text.replace(/\D/g, '');
  let international = plus;
  if (digits.startsWith('00')) {
    digits = digits.replace(/^0+/, '');
    international = true;
  }
  return extension === undefined
    ? { digits: international ? `+${digits}` : digits }
    : { digits: international ? `+${digits}` : digits, extension };
}
