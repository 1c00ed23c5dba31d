import { Metadata, PhoneNumber } from 'libphonenumber-js/max';
import metadata from 'libphonenumber-js/max/metadata';

/**
 * International numbers read with libphonenumber's own metadata but without its parser, for the
 * form the telephone system sends most: the international digits without "+" ("41215522000").
 *
 * Only calling codes of one country are read here, and only national numbers from which the parser
 * would strip no national prefix: for those, parsing "+<digits>" keeps the digits as they are, and
 * the number is valid exactly when its national number matches the country's pattern and one of its
 * number types (the patterns and lengths of the metadata, compiled once). Anything else (a shared
 * calling code such as +1 or +44, a national prefix, an invalid number) is left to the full reading.
 * test/unit/phone-international.test.ts compares both readings over generated numbers.
 */

/** The parts of libphonenumber's `Metadata` read here (its typings declare fewer). */
interface PlanMetadata {
  selectNumberingPlan(country: string): void;
  getCountryCodesForCallingCode(callingCode: string): string[] | undefined;
  nationalNumberPattern(): string;
  nationalPrefixForParsing(): string | undefined;
  nationalPrefixTransformRule(): string | undefined;
  countryCallingCode(): string;
  hasTypes(): boolean;
  type(name: string): { pattern(): string; possibleLengths(): number[] | undefined } | undefined;
}

/** The number types whose match makes a number valid (libphonenumber's getNumberType). */
const TYPES = [
  'FIXED_LINE',
  'MOBILE',
  'PREMIUM_RATE',
  'TOLL_FREE',
  'SHARED_COST',
  'VOIP',
  'PERSONAL_NUMBER',
  'PAGER',
  'UAN',
  'VOICEMAIL',
] as const;

/** libphonenumber's bounds of a national number's length. */
export const MIN_NATIONAL = 2;
export const MAX_NATIONAL = 17;
const MAX_CALLING_CODE = 3;

type Validity = (national: string) => boolean;

export interface Plan {
  /** Whether the parser would take a national prefix off the national number. */
  readonly prefixed: RegExp | undefined;
  /** The parser rewrites what its national prefix captures, rather than taking it off. */
  readonly transforms: boolean;
  readonly valid: Validity;
}

const entire = (pattern: string) => new RegExp(`^(?:${pattern})$`);

function compilePlan(plans: PlanMetadata, country: string): Plan {
  plans.selectNumberingPlan(country);
  const prefix = plans.nationalPrefixForParsing();
  const whole = entire(plans.nationalNumberPattern());
  const prefixed = prefix ? new RegExp(`^(?:${prefix})`) : undefined;
  const transforms = Boolean(plans.nationalPrefixTransformRule());
  if (!plans.hasTypes()) return { prefixed, transforms, valid: (national) => whole.test(national) };
  const types: { lengths: readonly number[] | undefined; pattern: RegExp }[] = [];
  for (const name of TYPES) {
    const type = plans.type(name);
    const pattern = type?.pattern();
    if (type && pattern) types.push({ lengths: type.possibleLengths(), pattern: entire(pattern) });
  }
  return {
    prefixed,
    transforms,
    valid: (national) =>
      whole.test(national) &&
      types.some(
        ({ lengths, pattern }) =>
          (lengths === undefined || lengths.includes(national.length)) && pattern.test(national),
      ),
  };
}

/** Every calling code, with the plan of its one country (null: shared or non-geographic). */
const callingCodes = new Map<string, Plan | null | undefined>(
  Object.keys(metadata.country_calling_codes).map((code) => [code, undefined]),
);
let plans: PlanMetadata | undefined;
const metadataPlans = () => {
  plans ??= new (Metadata as unknown as new () => PlanMetadata)();
  return plans;
};

/** A country's calling code and plan, compiled on first use (undefined: not a country of the metadata). */
export function countryPlan(country: string): { code: string; plan: Plan } | undefined {
  const found = countryPlans.get(country);
  if (found !== undefined || countryPlans.has(country)) return found;
  let compiled: { code: string; plan: Plan } | undefined;
  if (Object.hasOwn(metadata.countries, country)) {
    const all = metadataPlans();
    const plan = compilePlan(all, country);
    compiled = { code: all.countryCallingCode(), plan };
  }
  countryPlans.set(country, compiled);
  return compiled;
}
const countryPlans = new Map<string, { code: string; plan: Plan } | undefined>();

/** The calling code that starts `digits`, as libphonenumber finds it; its plan compiled on first use. */
function planOf(digits: string): { code: string; plan: Plan | null } | undefined {
  for (let length = 1; length <= MAX_CALLING_CODE && length < digits.length; length++) {
    const code = digits.slice(0, length);
    if (!callingCodes.has(code)) continue;
    let plan = callingCodes.get(code);
    if (plan === undefined) {
      const countries = metadataPlans().getCountryCodesForCallingCode(code);
      plan = countries?.length === 1 && countries[0] !== '001' ? countryPlan(countries[0]!)!.plan : null;
      callingCodes.set(code, plan);
    }
    return { code, plan };
  }
  return undefined;
}

/** International digits without "+": no leading 0, 7 digits or more (shorter ones are extensions). */
const INTERNATIONAL_DIGITS = /^[1-9]\d{6,19}$/;

/**
 * The E.164 key of international digits without "+" when the full reading would give it (the
 * number is valid as `+<digits>`); undefined when the full reading must decide.
 */
export function internationalKey(input: string): string | undefined {
  if (!INTERNATIONAL_DIGITS.test(input)) return undefined;
  const found = planOf(input);
  if (!found?.plan) return undefined;
  const national = input.slice(found.code.length);
  if (national.length < MIN_NATIONAL || national.length > MAX_NATIONAL) return undefined;
  if (found.plan.prefixed?.test(national)) return undefined;
  return found.plan.valid(national) ? `+${input}` : undefined;
}

/**
 * A key's number as libphonenumber writes it internationally ("+41 21 552 20 00"), built from the
 * key's calling code and national number without parsing it; undefined when the key is not of the
 * form `internationalKey` gives (the caller then parses it).
 */
export function formatKey(key: string): string | undefined {
  if (key[0] !== '+') return undefined;
  const digits = key.slice(1);
  if (!INTERNATIONAL_DIGITS.test(digits)) return undefined;
  const found = planOf(digits);
  if (!found?.plan) return undefined;
  const national = digits.slice(found.code.length);
  if (national.length < MIN_NATIONAL || national.length > MAX_NATIONAL) return undefined;
  if (found.plan.prefixed?.test(national)) return undefined;
  return new PhoneNumber(key as `+${string}`).formatInternational();
}
