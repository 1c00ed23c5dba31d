import { CallcardError } from '../errors.js';
import type { LookupHit } from '../lookup/lookup.js';
import type { CallDirection } from '../store/types.js';

/**
 * The CONNECTOR's wire contract. Requests are read case-insensitively (older clients send
 * `Inputs`/`PhoneNumber`); answers are camelCase with absent values omitted.
 */

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value under `name`, whatever its case. */
export function readField(object: Json, name: string): unknown {
  if (name in object) return object[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(object)) if (key.toLowerCase() === lower) return object[key];
  return undefined;
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function inputsOf(body: unknown): Json | undefined {
  if (!isObject(body)) return undefined;
  const inputs = readField(body, 'inputs');
  if (inputs === undefined || inputs === null) return undefined;
  if (!isObject(inputs)) throw new CallcardError('INVALID_INPUT', '"inputs" must be a JSON object');
  return inputs;
}

// Far longer than any written number; the number's clean-up takes time that grows faster than its length.
const MAX_NUMBER_LENGTH = 100;

function boundedNumber(text: string): string {
  if (text.trim().length > MAX_NUMBER_LENGTH) {
    throw new CallcardError(
      'INVALID_INPUT',
      `the phone number is longer than ${MAX_NUMBER_LENGTH} characters`,
    );
  }
  return text;
}

/**
 * The number to look up: `inputs.phoneNumber` in the body, or the older `PhoneNumber` query parameter.
 * A missing or empty number inside `inputs` is a lookup with no result, not an error.
 */
export function readLookupNumber(body: unknown, query: unknown): string {
  const inputs = inputsOf(body);
  if (inputs) {
    const value = readField(inputs, 'phoneNumber');
    if (value === undefined || value === null) return '';
    const text = asText(value);
    if (text === undefined) throw new CallcardError('INVALID_INPUT', '"inputs.phoneNumber" must be a string');
    return boundedNumber(text);
  }
  const legacy = isObject(query) ? readField(query, 'phoneNumber') : undefined;
  const text = Array.isArray(legacy) ? asText(legacy[0]) : asText(legacy);
  if (text !== undefined) return boundedNumber(text);
  throw new CallcardError(
    'MISSING_INPUTS',
    'send {"inputs":{"phoneNumber":"41215522000"}} as JSON, or a PhoneNumber query parameter',
  );
}

export interface WireContact {
  name?: string;
  company?: string;
  contactUri?: string;
  companyUri?: string;
  id: string;
  crmName: string;
  crmLogo?: string;
  crmActions: string[];
  customData?: Record<string, string>;
}

/** One contact card; relative logo paths are resolved against the address callcard is reached at. */
export function toWireContact(hit: LookupHit, publicUrl: string): WireContact {
  const { match, from } = hit;
  // In the order of the API's sample, so that every client sees the same shape.
  const contact = {} as WireContact;
  if (match.name) contact.name = match.name;
  if (match.company) contact.company = match.company;
  if (match.contactUri) contact.contactUri = match.contactUri;
  if (match.companyUri) contact.companyUri = match.companyUri;
  contact.id = match.id;
  contact.crmName = from.crmName;
  if (from.crmLogo) contact.crmLogo = from.crmLogo.startsWith('/') ? publicUrl + from.crmLogo : from.crmLogo;
  contact.crmActions = [...from.workflows];
  if (match.customData && Object.keys(match.customData).length > 0)
    contact.customData = { ...match.customData };
  return contact;
}

/** JSON schema of the lookup answer; Fastify compiles it into a fast serializer. */
export const lookupResponseSchema = {
  type: 'array',
  items: {
    type: 'object',
    properties: {
      name: { type: 'string' },
      company: { type: 'string' },
      contactUri: { type: 'string' },
      companyUri: { type: 'string' },
      id: { type: 'string' },
      crmName: { type: 'string' },
      crmLogo: { type: 'string' },
      crmActions: { type: 'array', items: { type: 'string' } },
      customData: { type: 'object', additionalProperties: { type: 'string' } },
    },
  },
} as const;

/** The call fields of Part 2, as the CONNECTOR names them. */
export const CALL_TEXT_FIELDS = [
  'contactCrmId',
  'userCrmId',
  'originatorNumber',
  'originatorName',
  'destinationNumber',
  'destinationName',
] as const;
export const CALL_TIME_FIELDS = ['startedTime', 'answeredTime', 'endedTime', 'declinedTime'] as const;

type CallTextField = (typeof CALL_TEXT_FIELDS)[number];
type CallTimeField = (typeof CALL_TIME_FIELDS)[number];

export type CallInputs = { [K in CallTextField | CallTimeField]?: string } & {
  direction?: CallDirection;
  /** Every field as sent, under the known names' canonical spelling; future fields kept as they came. */
  all: Json;
};

// ISO-8601 date and time, "T" or space, optional seconds, fraction and zone.
const ISO_DATE_TIME =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** Epoch milliseconds of a valid ISO-8601 time, or undefined. */
export function parseIsoTime(value: string): number | undefined {
  if (!ISO_DATE_TIME.test(value)) return undefined;
  const ms = Date.parse(
    value
      .replace(',', '.')
      .replace(' ', 'T')
      .replace(/([+-]\d{2})(\d{2})$/, '$1:$2'),
  );
  return Number.isNaN(ms) ? undefined : ms;
}

// Levels of arrays and objects a field may have: far beyond any payload, and the journal's JSON
// functions and the call's identity (both recursive) stay within their limits.
const MAX_FIELD_DEPTH = 32;

/** True when `value` nests arrays and objects more than `levels` deep; looks no deeper than that. */
function deeperThan(value: unknown, levels: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (levels === 0) return true;
  return Object.values(value).some((item) => deeperThan(item, levels - 1));
}

const KNOWN = new Map<string, string>(
  [...CALL_TEXT_FIELDS, ...CALL_TIME_FIELDS, 'direction'].map((name) => [name.toLowerCase(), name]),
);

/** Reads and validates a workflow's `inputs`: direction and times checked, unknown fields kept. */
export function readCallInputs(body: unknown): CallInputs {
  const inputs = inputsOf(body);
  if (!inputs) throw new CallcardError('MISSING_INPUTS', 'send the call as {"inputs":{...}} in a JSON body');
  const all: Json = {};
  const call: CallInputs = { all };
  const problems: string[] = [];
  for (const [rawKey, value] of Object.entries(inputs)) {
    const name = KNOWN.get(rawKey.toLowerCase());
    if (!name) {
      if (deeperThan(value, MAX_FIELD_DEPTH)) {
        problems.push(`inputs.${rawKey.slice(0, 64)} is nested deeper than ${MAX_FIELD_DEPTH} levels`);
      } else if (value !== null && value !== undefined) all[rawKey] = value;
      continue;
    }
    if (value === null || value === undefined) continue;
    const text = asText(value);
    if (text === undefined) {
      problems.push(`inputs.${name} must be a string`);
      continue;
    }
    all[name] = text;
    const trimmed = text.trim();
    if (trimmed === '') continue;
    if (name === 'direction') {
      const direction = trimmed.toLowerCase();
      if (direction === 'incoming' || direction === 'outgoing') call.direction = direction;
      else problems.push(`inputs.direction must be "incoming" or "outgoing", not "${trimmed.slice(0, 20)}"`);
    } else if ((CALL_TIME_FIELDS as readonly string[]).includes(name)) {
      if (parseIsoTime(trimmed) === undefined) {
        problems.push(`inputs.${name} must be an ISO-8601 date-time (2024-05-01T09:30:00Z) or empty`);
      } else call[name as CallTimeField] = trimmed;
    } else {
      call[name as CallTextField] = trimmed;
    }
  }
  if (problems.length > 0) throw new CallcardError('INVALID_INPUT', problems.join('; '));
  return call;
}
