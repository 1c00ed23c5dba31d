import fc from 'fast-check';
import type { CountryCode } from 'libphonenumber-js/max';
import { describe, expect, it } from 'vitest';
import { parsedStoredKey, storedKey } from '../../src/phone/keys.js';
import { nationalKey } from '../../src/phone/national.js';

/*
 * Stored numbers are read without libphonenumber's parser when they are of a form the parser only
 * takes the national prefix off (src/phone/national.ts), or valid international numbers
 * (src/phone/international.ts). Here the quick and the full reading of a stored number meet over
 * generated numbers, in every region: not one may differ. PHONE_PROPERTY_RUNS raises the number of
 * runs (a few million, run by hand; the default keeps the test to seconds).
 */

const REGIONS: readonly CountryCode[] = ['CH', 'DE', 'AT', 'FR', 'IT', 'LI', 'GB', 'US', 'VA', 'NL'];
const RUNS = Number(process.env.PHONE_PROPERTY_RUNS ?? 5_000);

/** Calling codes with area codes and mobile prefixes in use, so that many numbers are valid. */
const PREFIXES: Record<string, readonly string[]> = {
  '41': [
    '21',
    '22',
    '31',
    '32',
    '41',
    '43',
    '44',
    '52',
    '58',
    '61',
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
    '4',
    '6',
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
    '176',
    '177',
    '179',
    '33203',
    '3322',
    '800',
    '900',
    '0',
    '1',
    '49',
    '4930',
  ],
  '43': [
    '1',
    '316',
    '463',
    '512',
    '662',
    '732',
    '650',
    '660',
    '664',
    '676',
    '680',
    '699',
    '800',
    '0',
    '43',
    '5',
  ],
  '33': ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '33'],
  '39': ['02', '06', '055', '06698', '3', '347', '39', '393', '0', '1', '8'],
  '423': ['2', '3', '6', '7', '8', '9', '0', '1001', '423'],
  '44': ['20', '121', '7911', '0'],
  '1': ['212', '415', '800', '0'],
  '31': ['20', '6', '0'],
};
const CODES = Object.keys(PREFIXES);

const digits = (min: number, max: number) =>
  fc.array(fc.constantFrom(...'0123456789'), { minLength: min, maxLength: max }).map((d) => d.join(''));

/** A national number with its trunk prefix (or without it), as people type them into address books. */
const national = fc
  .constantFrom(...CODES)
  .chain((code) =>
    fc.tuple(fc.constantFrom('0', '', '00', '0 ', '(0)'), fc.constantFrom(...PREFIXES[code]!), digits(2, 11)),
  )
  .map(([trunk, prefix, rest]) => `${trunk}${prefix} ${rest}`);

/** The same numbers written internationally, with "+" or "00", the "(0)" of some spreadsheets too. */
const international = fc
  .constantFrom(...CODES)
  .chain((code) =>
    fc.tuple(
      fc.constantFrom('+', '00', '+ '),
      fc.constant(code),
      fc.constantFrom('', ' (0)', '0'),
      fc.constantFrom(...PREFIXES[code]!),
      digits(2, 11),
    ),
  )
  .map(([plus, code, trunk, prefix, rest]) => `${plus}${code}${trunk} ${prefix}${rest}`);

/** Any digits, and text that is no number. */
const odd = fc.oneof(digits(1, 22), fc.string({ maxLength: 24 }));

const answered = { national: 0, all: 0 };
function sameKey(input: string, region: CountryCode): void {
  const quick = storedKey(input, region);
  if (quick?.startsWith('+')) answered.all++;
  expect([input, region, quick]).toEqual([input, region, parsedStoredKey(input, region)]);
}

describe('stored numbers read without the parser', () => {
  it('give the parser’s key for national numbers, in every region', () => {
    answered.national = 0;
    fc.assert(
      fc.property(national, fc.constantFrom(...REGIONS), (input, region) => {
        if (nationalKey(input.replace(/\D/g, ''), region) !== undefined) answered.national++;
        sameKey(input, region);
      }),
      { numRuns: RUNS, seed: 20_261_205 },
    );
    // Not a test that passes by answering nothing: a good share of these are valid numbers.
    expect(answered.national).toBeGreaterThan(RUNS / 20);
  });

  it('give the parser’s key for international numbers and odd input, in every region', () => {
    answered.all = 0;
    fc.assert(fc.property(fc.oneof(international, odd), fc.constantFrom(...REGIONS), sameKey), {
      numRuns: RUNS,
      seed: 20_261_206,
    });
    expect(answered.all).toBeGreaterThan(RUNS / 20);
  });

  it('answer the usual national forms, and leave the others to the parser', () => {
    expect(nationalKey('0215522000', 'CH')).toBe('+41215522000');
    expect(nationalKey('0791234567', 'CH')).toBe('+41791234567');
    expect(nationalKey('03020104729', 'DE')).toBe('+493020104729');
    expect(nationalKey('015120104729', 'DE')).toBe('+4915120104729');
    expect(nationalKey('0512381782', 'AT')).toBe('+43512381782');
    expect(nationalKey('0142685300', 'FR')).toBe('+33142685300');
    expect(nationalKey('0212345678', 'IT')).toBe('+390212345678');
    expect(nationalKey('2351234', 'LI')).toBe('+4232351234');
    // Regions not read here, an invalid number, digits that may carry the calling code: the parser.
    expect(nationalKey('02079460018', 'GB')).toBeUndefined();
    expect(nationalKey('0995522000', 'CH')).toBeUndefined();
    expect(nationalKey('41215522000', 'CH')).toBeUndefined();
    expect(nationalKey('0041215522000', 'CH')).toBeUndefined();
    expect(nationalKey('2001', 'CH')).toBeUndefined();
  });
});
