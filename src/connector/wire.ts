import type * as z from 'zod';
import { CallcardError, ErrorMessages as M } from '../errors.js';
import type { LookupHit } from '../lookup/lookup.js';
import type { CallDirection } from '../store/types.js';
import { isObject } from '../util/json.js';
import {
  CallInputs as CallInputsSchema,
  type CallTextField,
  type CallTimeField,
  LookupRequest,
  MAX_FIELD_DEPTH,
  NumberText,
  OtherCallField,
  type WireContact,
} from './schema.js';

export { CALL_TEXT_FIELDS, CALL_TIME_FIELDS, parseIsoTime, type WireContact } from './schema.js';

/**
 * The CONNECTOR's wire contract: the readers of its requests and the writer of its answers, on the
 * schemas of `schema.ts`. Requests are read case-insensitively (older clients send
 * `Inputs`/`PhoneNumber`); answers are camelCase with absent values omitted.
 */

type Json = Record<string, unknown>;

/** The value under `name`, whatever its case. */
export function readField(object: Json, name: string): unknown {
  if (name in object) return object[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(object)) if (key.toLowerCase() === lower) return object[key];
  return undefined;
}

/** The value as the field's schema reads it, or its problems. */
function check<T>(schema: z.ZodType<T>, value: unknown): { value: T } | { problems: string[] } {
  const result = schema.safeParse(value);
  return result.success ? { value: result.data } : { problems: result.error.issues.map((i) => i.message) };
}

/** The value as the schema reads it; a value it refuses is an INVALID_INPUT with the schema's words. */
function read<T>(schema: z.ZodType<T>, value: unknown): T {
  const checked = check(schema, value);
  if ('problems' in checked) throw new CallcardError('INVALID_INPUT', M.together(checked.problems));
  return checked.value;
}

/** `inputs.phoneNumber`: absent or null is no number. */
const PhoneNumber = LookupRequest.shape.inputs.shape.phoneNumber;

function inputsOf(body: unknown): Json | undefined {
  if (!isObject(body)) return undefined;
  const inputs = readField(body, 'inputs');
  if (inputs === undefined || inputs === null) return undefined;
  if (!isObject(inputs)) throw new CallcardError('INVALID_INPUT', M.INPUTS_NOT_OBJECT);
  return inputs;
}

/**
 * The number to look up: `inputs.phoneNumber` in the body, or the older `PhoneNumber` query parameter.
 * A missing or empty number inside `inputs` is a lookup with no result, not an error.
 */
export function readLookupNumber(body: unknown, query: unknown): string {
  const inputs = inputsOf(body);
  if (inputs) return read(PhoneNumber, readField(inputs, 'phoneNumber')) ?? '';
  const legacy = isObject(query) ? readField(query, 'phoneNumber') : undefined;
  const first = Array.isArray(legacy) ? legacy[0] : legacy;
  // A parameter that is no text is no parameter; a text is read as the body's number is.
  if (typeof first !== 'string' && !(typeof first === 'number' && Number.isFinite(first)))
    throw new CallcardError('MISSING_INPUTS', M.LOOKUP_MISSING_INPUTS);
  return read(NumberText, first);
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

export type CallInputs = { [K in CallTextField | CallTimeField]?: string } & {
  direction?: CallDirection;
  /** Every field as sent, under the known names' canonical spelling; future fields kept as they came. */
  all: Json;
};

const FIELDS = CallInputsSchema.shape;
type Field = keyof typeof FIELDS;
/** The schema's field names, by their lower case. */
const KNOWN = new Map(Object.keys(FIELDS).map((name) => [name.toLowerCase(), name as Field]));

/**
 * Reads and validates a workflow's `inputs` field by field, in the order they came, each with its
 * schema: direction and times checked, unknown fields kept. Every problem is reported at once.
 */
export function readCallInputs(body: unknown): CallInputs {
  const inputs = inputsOf(body);
  if (!inputs) throw new CallcardError('MISSING_INPUTS', M.CALL_MISSING_INPUTS);
  const all: Json = {};
  const call: CallInputs = { all };
  const problems: string[] = [];
  for (const [rawKey, value] of Object.entries(inputs)) {
    const name = KNOWN.get(rawKey.toLowerCase());
    if (!name) {
      if (!OtherCallField.safeParse(value).success) problems.push(M.tooDeep(rawKey, MAX_FIELD_DEPTH));
      else if (value !== null && value !== undefined) all[rawKey] = value;
      continue;
    }
    const checked = check(FIELDS[name], value);
    if ('problems' in checked) {
      problems.push(...checked.problems);
      continue;
    }
    const text = checked.value;
    if (text === null || text === undefined) continue;
    all[name] = text;
    const trimmed = text.trim();
    if (trimmed === '') continue;
    if (name === 'direction') call.direction = trimmed.toLowerCase() as CallDirection;
    else call[name] = trimmed;
  }
  if (problems.length > 0) throw new CallcardError('INVALID_INPUT', M.together(problems));
  return call;
}
