import fc from 'fast-check';
import type { CountryCode } from 'libphonenumber-js/max';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import metadata from 'libphonenumber-js/max/metadata';
import { describe, expect, it } from 'vitest';
import { formatKey, internationalKey } from '../../src/phone/international.js';
import { parsedIncomingKey } from '../../src/phone/keys.js';

/*
 * The international digits the telephone system sends are read without libphonenumber's parser when
 * the number is of a form the parser keeps as it is (src/phone/international.ts). Here both readings
 * meet over generated numbers: wherever the quick reading answers, it answers what the parser does,
 * in every default region; and a key's international form, written without parsing, is the parser's.
 */

const REGIONS: readonly CountryCode[] = ['CH', 'DE', 'AT', 'FR', 'IT', 'LI', 'GB', 'US'];
const CALLING_CODES = Object.keys(metadata.country_calling_codes);

/** Area codes and mobile prefixes in use, so that many generated numbers are valid. */
const PREFIXES: Record<string, readonly string[]> = {
  '41': [
    '21',
    '22',
    '24',
    '26',
    '27',
    '31',
    '32',
    '33',
    '41',
    '43',
    '44',
    '52',
    '55',
    '56',
    '58',
    '61',
    '62',
    '71',
    '75',
    '76',
    '77',
    '78',
    '79',
    '81',
    '91',
    '800',
    '840',
    '900',
    '0',
  ],
  '49': [
    '30',
    '40',
    '69',
    '89',
    '211',
    '221',
    '711',
    '151',
    '152',
    '157',
    '160',
    '170',
    '171',
    '172',
    '176',
    '177',
    '179',
    '33203',
    '3322',
    '800',
    '900',
    '0',
    '1',
  ],
  '43': ['1', '316', '463', '512', '662', '732', '650', '660', '664', '676', '680', '699', '800', '0'],
  '33': ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0'],
  '39': ['02', '06', '055', '3', '347', '0'],
  '423': ['2', '3', '6', '7', '8', '0'],
  '44': ['20', '121', '7911', '1624', '0'],
  '1': ['212', '415', '800', '0'],
  '352': ['2', '6', '621', '0'],
  '31': ['20', '6', '0'],
};

const digits = (min: number, max: number) =>
  fc.array(fc.constantFrom(...'0123456789'), { minLength: min, maxLength: max }).map((d) => d.join(''));

/** Numbers of the calling codes above, written as international digits without "+". */
const planned = fc
  .constantFrom(...Object.keys(PREFIXES))
  .chain((code) => fc.tuple(fc.constant(code), fc.constantFrom(...PREFIXES[code]!), digits(3, 10)))
  .map(([code, prefix, rest]) => `${code}${prefix}${rest}`);

/** Any calling code and any national digits. */
const anyCode = fc
  .tuple(fc.constantFrom(...CALLING_CODES), digits(1, 15))
  .map(([code, rest]) => `${code}${rest}`);

/** Any digits at all, and the odd forms that must go to the parser. */
const odd = fc.oneof(
  digits(1, 20),
  fc.tuple(fc.constantFrom('+', '00', ' ', '0'), digits(5, 14)).map(([a, b]) => `${a}${b}`),
  fc.string({ maxLength: 20 }),
);

const quickAnswers = { n: 0 };
function sameKey(input: string): void {
  const quick = internationalKey(input);
  if (quick === undefined) return;
  quickAnswers.n++;
  for (const region of REGIONS)
    expect([input, region, quick]).toEqual([input, region, parsedIncomingKey(input, region)]);
}

describe('international digits read without the parser', () => {
  it('give the parser’s key for every number they answer (numbers of plans in use)', () => {
    quickAnswers.n = 0;
    fc.assert(
      fc.property(planned, (input) => sameKey(input)),
      { numRuns: 30_000, seed: 20_261_202 },
    );
    // Not a test that passes by answering nothing: most of these are valid numbers.
    expect(quickAnswers.n).toBeGreaterThan(5_000);
  });

  it('give the parser’s key for every number they answer (any calling code, any digits)', () => {
    quickAnswers.n = 0;
    fc.assert(
      fc.property(fc.oneof(anyCode, odd), (input) => sameKey(input)),
      { numRuns: 30_000, seed: 20_261_203 },
    );
    expect(quickAnswers.n).toBeGreaterThan(100);
  });

  it('answer the numbers the CONNECTOR sends most, and leave shared calling codes to the parser', () => {
    expect(internationalKey('41215522000')).toBe('+41215522000');
    expect(internationalKey('4915112345678')).toBe('+4915112345678');
    expect(internationalKey('4315123456')).toBe('+4315123456');
    expect(internationalKey('33142685300')).toBe('+33142685300');
    expect(internationalKey('4232351234')).toBe('+4232351234');
    // +39 is shared with the Vatican, +1 and +44 with other countries: the parser decides.
    expect(internationalKey('390669881234')).toBeUndefined();
    expect(internationalKey('12125550123')).toBeUndefined();
    expect(internationalKey('442079460018')).toBeUndefined();
    // A national prefix after the calling code, an invalid number, a short one: the parser decides.
    expect(internationalKey('410215522000')).toBeUndefined();
    expect(internationalKey('41995522000')).toBeUndefined();
    expect(internationalKey('2001')).toBeUndefined();
    expect(internationalKey('0215522000')).toBeUndefined();
  });
});

describe('a key written internationally without parsing it', () => {
  const viaParser = (key: string) => parsePhoneNumberFromString(key)?.formatInternational();
  const sameFormat = (key: string) => {
    const quick = formatKey(key);
    if (quick === undefined) return false;
    expect([key, quick]).toEqual([key, viaParser(key)]);
    return true;
  };

  it('is written as the parser writes it, for keys of generated numbers', () => {
    let written = 0;
    fc.assert(
      fc.property(fc.oneof(planned, anyCode), fc.constantFrom(...REGIONS), (input, region) => {
        // Keys as the index holds them: what the parser makes of numbers, valid or only possible.
        const key = parsedIncomingKey(input, region);
        if (key?.startsWith('+') && sameFormat(key)) written++;
      }),
      { numRuns: 20_000, seed: 20_261_204 },
    );
    expect(written).toBeGreaterThan(2_000);
  });
});
