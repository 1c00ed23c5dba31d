import { countryPlan, MAX_NATIONAL, MIN_NATIONAL } from './international.js';

/**
 * Stored numbers in national form ("0215522000" read in CH) read with libphonenumber's own
 * metadata but without its parser, for the regions whose files an import reads most. A number is
 * answered here only when the parser would do nothing more than take off the national prefix
 * (a plain prefix such as "0", no rewriting, no carrier code) and the rest is valid by the
 * metadata's own patterns: then parsing it in the region gives "+<calling code><rest>". Anything
 * else (an invalid number, digits that start with the calling code, a rewritten prefix) is left to
 * the full reading. test/unit/phone-national.test.ts compares both readings over generated numbers.
 */

/** The regions read here: those of the files imported most (others go to the parser). */
const REGIONS = new Set(['CH', 'DE', 'AT', 'FR', 'IT', 'LI']);

/** National digits: no "+", not "00" (an international call prefix), 7 to 20 digits. */
const NATIONAL_DIGITS = /^(?!00)\d{7,20}$/;

/**
 * The E.164 key of national digits read in `region` when the parser would give it as a valid
 * number; undefined when the full reading must decide.
 */
export function nationalKey(digits: string, region: string): string | undefined {
  if (!REGIONS.has(region) || !NATIONAL_DIGITS.test(digits)) return undefined;
  const found = countryPlan(region);
  if (!found) return undefined;
  const { code, plan } = found;
  let national = digits;
  const prefix = plan.prefixed?.exec(digits);
  if (prefix) {
    // A prefix that captures (a carrier code, a rewritten area code) is the parser's to read.
    if (plan.transforms || (prefix.length > 1 && prefix.slice(1).some((group) => group !== undefined))) {
      return undefined;
    }
    national = digits.slice(prefix[0].length);
  } else if (digits.startsWith(code)) {
    // The parser may read these as international digits without "+".
    return undefined;
  }
  if (national.length < MIN_NATIONAL || national.length > MAX_NATIONAL) return undefined;
  return plan.valid(national) ? `+${code}${national}` : undefined;
}
