import { createHash } from 'node:crypto';
import * as z from 'zod';
import { withAuthScheme } from '../../net/auth.js';
import { authKinds } from '../../net/auth-schema.js';
import { isObject } from '../../util/json.js';
import { parseIsoTime } from '../../util/time.js';
import { type Action, type ActionDeps, DeliveryError, retrySettings } from './types.js';
import { createVendorCaller } from './vendor-http.js';

/** Logs each call in Zoho CRM's Calls module (`POST /crm/v8/Calls`), on the contact, lead or account found. */
export const zohoActionSchema = z
  .object({
    type: z.literal('zoho'),
    /** The data centre the org is in (the ending of its domain: `eu` for crm.zoho.eu). */
    dataCentre: z.enum(['com', 'eu', 'in', 'com.au', 'jp', 'ca', 'sa', 'uk', 'com.cn']),
    /** The API's address; by default the data centre's (`https://www.zohoapis.eu`). */
    apiDomain: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    /** The OAuth connection (`oauth2Code` with a `connection` name; the source's, to share its consent). */
    auth: authKinds,
    /** The name of the zoho source: a call whose contact it found is logged on that record. */
    source: z.string().min(1).optional(),
    /** Longest time an attempt may take (its search included). */
    timeoutMs: z.coerce.number().int().min(100).max(120_000).default(20_000),
    ...retrySettings,
  })
  .strict();

export type ZohoActionConfig = z.output<typeof zohoActionSchema>;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

/** The short mark of a delivery in its call's subject: the subject is what Zoho's search finds again. */
export const zohoRef = (deliveryId: string) =>
  `ref ${createHash('sha256').update(deliveryId).digest('hex').slice(0, 12)}`;

/** A value in a search criteria: Zoho's special characters escaped. */
const criteriaValue = (value: string) => value.replace(/[\\(),]/g, (found) => `\\${found}`);

/** `2026-11-26T10:00:00+00:00`: Zoho's date-time. */
const zohoTime = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}+00:00`;

/** The record a zoho source found: a contact (`Who_Id`), a lead or an account (`What_Id` of its module). */
function relatedOf(contact: unknown, source: string | undefined): Record<string, unknown> {
  if (!source || !isObject(contact) || contact['source'] !== source) return {};
  const match = /^(account-|lead-)?(\d{1,30})$/.exec(text(contact['id']) ?? '');
  if (!match) return {};
  if (!match[1]) return { Who_Id: { id: match[2] } };
  return { What_Id: { id: match[2] }, $se_module: match[1] === 'lead-' ? 'Leads' : 'Accounts' };
}

/**
 * A Zoho CRM call per call. Zoho has no idempotency key: the call's subject ends with a short mark
 * made from the delivery's id, and a delivery first searches the calls for that subject, so one
 * tried again (after a lost answer or a crash) answers the call it made.
 */
export function createZohoAction(
  config: ZohoActionConfig,
  deps: ActionDeps,
  options: { readonly env?: NodeJS.ProcessEnv } = {},
): Action {
  const call = createVendorCaller({
    name: 'zoho',
    auth: () => config.auth,
    wrap: (made) => withAuthScheme(made, 'Zoho-oauthtoken'),
    baseUrl: `${(config.apiDomain ?? `https://www.zohoapis.${config.dataCentre}`).replace(/\/+$/, '')}/crm/v8`,
    timeoutMs: config.timeoutMs,
    deps,
    env: options.env,
  });
  const result = (id: string) => ({ id, url: `https://crm.zoho.${config.dataCentre}/crm/tab/Calls/${id}` });

  return {
    type: 'zoho',
    async run(payload, { signal, deliveryId }) {
      const c = isObject(payload['call']) ? payload['call'] : {};
      const at = (name: string) => {
        const value = text(c[name]);
        return value === undefined ? undefined : parseIsoTime(value);
      };
      const started = at('startedTime') ?? at('answeredTime');
      if (started === undefined) {
        throw new DeliveryError('zoho action: the call has no start time; Zoho needs one', {
          permanent: true,
        });
      }
      const incoming = text(c['direction'])?.toLowerCase() !== 'outgoing';
      const answered = c['status'] === 'answered';
      const other = incoming ? text(c['originatorNumber']) : text(c['destinationNumber']);
      const contact = isObject(payload['contact']) ? payload['contact'] : undefined;
      const who = text(contact?.['name']) ?? text(contact?.['company']) ?? other ?? 'unknown number';
      const ref = zohoRef(deliveryId);
      const title = `${incoming ? 'Incoming' : 'Outgoing'} call ${incoming ? 'from' : 'to'} ${who}`;
      const subject = `${title.slice(0, 255 - ref.length - 3)} · ${ref}`;
      const found = await call(
        {
          method: 'GET',
          path: '/Calls/search',
          query: { criteria: `(Subject:equals:${criteriaValue(subject)})`, fields: 'Subject' },
          what: 'look for the call',
        },
        signal,
      );
      const made = isObject(found) && Array.isArray(found['data']) ? found['data'].find(isObject) : undefined;
      const madeId = made ? text(made['id']) : undefined;
      if (madeId) return result(madeId);
      const seconds = c['durationSeconds'];
      const duration =
        answered && typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0
          ? Math.round(seconds)
          : 0;
      const record = {
        Subject: subject,
        Call_Type: incoming ? (answered ? 'Inbound' : 'Missed') : 'Outbound',
        Call_Start_Time: zohoTime(started),
        Call_Duration: `${String(Math.floor(duration / 60)).padStart(2, '0')}:${String(duration % 60).padStart(2, '0')}`,
        Description: [
          `${incoming ? 'From' : 'To'}: ${other ?? 'unknown number'}`,
          answered ? 'Answered' : 'Not answered',
          `callcard delivery ${deliveryId}`,
        ].join('\n'),
        ...relatedOf(payload['contact'], config.source),
      };
      const answer = await call(
        { method: 'POST', path: '/Calls', body: { data: [record] }, what: 'log the call' },
        signal,
      );
      const first =
        isObject(answer) && Array.isArray(answer['data']) ? answer['data'].find(isObject) : undefined;
      const details = first && isObject(first['details']) ? first['details'] : undefined;
      const id = text(details?.['id']);
      if (first?.['status'] !== 'success' || !id) {
        const code = text(first?.['code'])?.slice(0, 40) ?? 'no call id';
        throw new DeliveryError(`zoho action (log the call): Zoho did not add the call (${code})`, {
          permanent: true,
        });
      }
      return result(id);
    },
  };
}
