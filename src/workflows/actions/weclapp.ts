import * as z from 'zod';
import { tokenOrAuth, tokenOrAuthFields } from '../../net/auth-schema.js';
import { isObject } from '../../util/json.js';
import { parseIsoTime } from '../../util/time.js';
import { type Action, type ActionDeps, DeliveryError, retrySettings } from './types.js';
import { createVendorCaller } from './vendor-http.js';

/** Logs each call as a weclapp CRM event (`POST /crmEvent`, an incoming or outgoing call) on the party found. */
export const weclappActionSchema = z
  .object({
    type: z.literal('weclapp'),
    /** A user's API token (`token`, `tokenEnv` or `tokenFile`), sent as `AuthenticationToken`; or `auth` of any kind. */
    ...tokenOrAuthFields,
    /** `acme` of acme.weclapp.com. */
    tenant: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/i, 'must be the first part of <tenant>.weclapp.com')
      .optional(),
    /** The API's address, for a weclapp on a domain of its own: `https://erp.example.com/webapp/api/v2`. */
    baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    /** The name of the weclapp source: a call whose contact it found is logged on that party. */
    source: z.string().min(1).optional(),
    /**
     * The party that calls of numbers no weclapp party has are logged on (e.g. one named "Unknown
     * callers"); without it they are not logged (a CRM event needs a party).
     */
    unknownCallerPartyId: z
      .string()
      .regex(/^\d{1,20}$/, 'must be a weclapp party id')
      .optional(),
    /** Longest time an attempt may take (its lookup included). */
    timeoutMs: z.coerce.number().int().min(100).max(120_000).default(20_000),
    ...retrySettings,
  })
  .strict()
  .superRefine((config, ctx) => {
    try {
      tokenOrAuth(config, { type: 'apiKey', header: 'AuthenticationToken' });
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['token'], message: (error as Error).message });
    }
    if (!config.tenant && !config.baseUrl) {
      ctx.addIssue({
        code: 'custom',
        path: ['tenant'],
        message: 'needs tenant (acme of acme.weclapp.com) or baseUrl',
      });
    }
  });

export type WeclappActionConfig = z.output<typeof weclappActionSchema>;

/** Test seams: the environment secrets are read from. */
export interface WeclappActionOptions {
  readonly env?: NodeJS.ProcessEnv;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

/** The words in a CRM event's description that mark the delivery it came from: found again on a retry. */
export const weclappMark = (deliveryId: string) => `callcard delivery ${deliveryId}`;

const escapeHtml = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * A weclapp CRM event per call. weclapp has no idempotency key: the event's description carries
 * the delivery's mark, and a delivery first looks for an event of the party with it, so a delivery
 * tried again (after a lost answer or a crash) answers the event it made.
 */
export function createWeclappAction(
  config: WeclappActionConfig,
  deps: ActionDeps,
  options: WeclappActionOptions = {},
): Action {
  const baseUrl = config.baseUrl ?? `https://${config.tenant}.weclapp.com/webapp/api/v2`;
  const call = createVendorCaller({
    name: 'weclapp',
    auth: () => tokenOrAuth(config, { type: 'apiKey', header: 'AuthenticationToken' }),
    baseUrl,
    timeoutMs: config.timeoutMs,
    deps,
    env: options.env,
  });

  function partyOf(contact: unknown): string | undefined {
    if (config.source && isObject(contact) && contact['source'] === config.source) {
      const id = text(contact['id']);
      if (id && /^\d{1,20}$/.test(id)) return id;
    }
    return config.unknownCallerPartyId;
  }

  return {
    type: 'weclapp',
    async run(payload, { signal, deliveryId }) {
      const contact = isObject(payload['contact']) ? payload['contact'] : undefined;
      const partyId = partyOf(contact);
      // Nothing to log it on: the delivery is done without a record.
      if (!partyId) return {};
      const c = isObject(payload['call']) ? payload['call'] : {};
      const at = (name: string) => {
        const value = text(c[name]);
        return value === undefined ? undefined : parseIsoTime(value);
      };
      const started = at('startedTime') ?? at('answeredTime');
      if (started === undefined) {
        throw new DeliveryError('weclapp action: the call has no start time; weclapp needs one', {
          permanent: true,
        });
      }
      const ended = Math.max(at('endedTime') ?? at('declinedTime') ?? started, started);
      const incoming = text(c['direction'])?.toLowerCase() !== 'outgoing';
      const other = incoming ? text(c['originatorNumber']) : text(c['destinationNumber']);
      const answered = c['status'] === 'answered';
      const mark = weclappMark(deliveryId);
      const found = await call(
        {
          method: 'GET',
          path: '/crmEvent',
          query: { 'partyId-eq': partyId, 'description-like': `%${mark}%`, pageSize: '1' },
          what: 'look for the CRM event',
        },
        signal,
      );
      const made =
        isObject(found) && Array.isArray(found['result']) ? found['result'].find(isObject) : undefined;
      const madeId = made ? text(made['id']) : undefined;
      if (madeId) return { id: madeId };
      const who = text(contact?.['name']) ?? text(contact?.['company']) ?? other ?? 'unknown number';
      const seconds = c['durationSeconds'];
      const lines = [
        `${incoming ? 'From' : 'To'}: ${other ?? 'unknown number'}`,
        answered
          ? `Answered${typeof seconds === 'number' && Number.isFinite(seconds) ? `, ${Math.round(seconds)} s` : ''}`
          : 'Not answered',
        mark,
      ];
      const event = {
        type: incoming ? 'INCOMING_CALL' : 'OUTGOING_CALL',
        subject: `${incoming ? 'Incoming' : 'Outgoing'} call ${incoming ? 'from' : 'to'} ${who}`.slice(
          0,
          255,
        ),
        description: lines.map((line) => `<p>${escapeHtml(line)}</p>`).join(''),
        startDate: started,
        endDate: ended,
        partyId,
      };
      const answer = await call(
        { method: 'POST', path: '/crmEvent', body: event, what: 'log the call' },
        signal,
      );
      const id = isObject(answer) ? text(answer['id']) : undefined;
      if (!id) throw new DeliveryError('weclapp action (log the call): the answer gives no CRM event id');
      return { id };
    },
  };
}
