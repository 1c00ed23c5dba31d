import { isObject } from '../../util/json.js';
import { parseIsoTime } from '../../util/time.js';

/**
 * The template variables of a delivery, read from the payload a workflow gives its actions:
 * `{callId}`, `{deliveryId}`, `{workflow}`, every field of the call as `{call.<field>}` (those the
 * CONNECTOR may add later too), the matched contact's as `{contact.<field>}`, and a few derived from
 * the call. Nested fields are reached with dots (`{call.extra.queue}`, `{contact.customData.E-mail}`).
 */

export type CallVariables = Record<string, string | number>;

/** Variables of every delivery, besides the call's and the contact's fields. */
const DELIVERY_VARIABLES = ['callId', 'deliveryId', 'workflow'] as const;

/** The contact's fields, as the lookup found it (`customData.<label>` too). */
const CONTACT_FIELDS = [
  'id',
  'name',
  'company',
  'contactUri',
  'companyUri',
  'updatedAt',
  'source',
  'crmName',
];

/** Names callcard gives itself: not available for variables of a config's own. */
export const RESERVED_NAMES: readonly string[] = [...DELIVERY_VARIABLES, 'call', 'contact'];

/** For messages: what a template may use. */
export const VARIABLES_HELP =
  '{callId}, {deliveryId}, {workflow}, {call.<field>} (e.g. {call.originatorNumber}, {call.status}, ' +
  '{call.durationSeconds}, {call.startedAtIso}, {call.startedAtMs}, {call.durationMs}, {call.durationMinutes}), ' +
  `${CONTACT_FIELDS.map((name) => `{contact.${name}}`).join(', ')}, {contact.customData.<label>}`;

/**
 * Whether a template may use this name. Fixed names are checked; the call's fields are open-ended
 * (a field the CONNECTOR does not send is simply without a value), and so are a contact's customData.
 */
export function isCallVariable(name: string): boolean {
  if ((DELIVERY_VARIABLES as readonly string[]).includes(name)) return true;
  if (/^call\.[^.]/.test(name)) return true;
  if (/^contact\.customData\.[^.]/.test(name)) return true;
  return name.startsWith('contact.') && CONTACT_FIELDS.includes(name.slice('contact.'.length));
}

const MAX_DEPTH = 6;

/** Scalars under their dotted names; booleans as text; nested objects and lists opened, to a depth. */
function flatten(value: unknown, name: string, out: CallVariables, depth = 0): void {
  if (typeof value === 'string') out[name] = value;
  else if (typeof value === 'number') {
    if (Number.isFinite(value)) out[name] = value;
  } else if (typeof value === 'boolean') out[name] = String(value);
  else if (typeof value === 'object' && value !== null && depth < MAX_DEPTH) {
    for (const [key, item] of Object.entries(value)) flatten(item, `${name}.${key}`, out, depth + 1);
  }
}

/**
 * Derived from the call: its start as UTC ISO and epoch ms, its duration in ms and in whole minutes
 * (rounded up: a 10 s call is 1 minute). Absent when the call has no start time, or no duration
 * (a missed call).
 */
function derived(call: Readonly<Record<string, unknown>>): CallVariables {
  const out: CallVariables = {};
  const started = typeof call['startedTime'] === 'string' ? parseIsoTime(call['startedTime']) : undefined;
  if (started !== undefined) {
    out['call.startedAtIso'] = new Date(started).toISOString();
    out['call.startedAtMs'] = started;
  }
  const seconds = call['durationSeconds'];
  if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0) {
    out['call.durationMs'] = Math.round(seconds * 1000);
    out['call.durationMinutes'] = Math.ceil(seconds / 60);
  }
  return out;
}

/** The variables of one delivery of `payload` (see `createWorkflow`). */
export function callVariables(payload: Readonly<Record<string, unknown>>, deliveryId: string): CallVariables {
  const out: CallVariables = { deliveryId };
  flatten(payload['callId'], 'callId', out);
  flatten(payload['workflow'], 'workflow', out);
  const call = isObject(payload['call']) ? payload['call'] : {};
  flatten(call, 'call', out);
  Object.assign(out, derived(call));
  if (isObject(payload['contact'])) flatten(payload['contact'], 'contact', out);
  return out;
}
