import * as z from 'zod';
import { tokenOrAuth, tokenOrAuthFields } from '../../net/auth-schema.js';
import { isObject } from '../../util/json.js';
import { parseIsoTime } from '../../util/time.js';
import { formatInZone, isTimeZone } from '../../util/zone-time.js';
import { type Action, type ActionDeps, DeliveryError, retrySettings } from './types.js';
import { createVendorCaller } from './vendor-http.js';

/** Logs each call as a bexio note (`POST /2.0/note`) on the contact found. */
export const bexioActionSchema = z
  .object({
    type: z.literal('bexio'),
    /** A personal access token (`token`, `tokenEnv` or `tokenFile`), sent as a bearer token; or `auth` of any kind. */
    ...tokenOrAuthFields,
    /** The bexio user the notes are written as (bexio needs one). */
    userId: z.coerce.number().int().positive(),
    /** The name of the bexio source: a call whose contact it found gets the note on that contact. */
    source: z.string().min(1).optional(),
    baseUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .default('https://api.bexio.com'),
    /** The time zone bexio shows times in (`event_start` is wall-clock time without a zone). */
    timeZone: z
      .string()
      .refine(isTimeZone, 'must be an IANA time zone such as Europe/Zurich')
      .default('Europe/Zurich'),
    /** Longest time an attempt may take (its lookup included). */
    timeoutMs: z.coerce.number().int().min(100).max(120_000).default(20_000),
    ...retrySettings,
  })
  .strict()
  .superRefine((config, ctx) => {
    try {
      tokenOrAuth(config, { type: 'bearer' });
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['token'], message: (error as Error).message });
    }
  });

export type BexioActionConfig = z.output<typeof bexioActionSchema>;

/** Test seams: the environment secrets are read from. */
export interface BexioActionOptions {
  readonly env?: NodeJS.ProcessEnv;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

/** The line in a note's text that marks the delivery it came from: found again on a retry. */
export const bexioMark = (deliveryId: string) => `callcard delivery ${deliveryId}`;

/**
 * A bexio note per call. bexio has no idempotency key: the note's text carries the delivery's mark,
 * and a delivery first searches the user's notes at the call's start time for it, so a delivery
 * tried again (after a lost answer or a crash) answers the note it made.
 */
export function createBexioAction(
  config: BexioActionConfig,
  deps: ActionDeps,
  options: BexioActionOptions = {},
): Action {
  const call = createVendorCaller({
    name: 'bexio',
    auth: () => tokenOrAuth(config, { type: 'bearer' }),
    baseUrl: config.baseUrl,
    timeoutMs: config.timeoutMs,
    deps,
    env: options.env,
  });

  function contactOf(contact: unknown): number | undefined {
    if (!config.source || !isObject(contact) || contact['source'] !== config.source) return undefined;
    const id = text(contact['id']);
    return id && /^\d{1,15}$/.test(id) ? Number(id) : undefined;
  }

  return {
    type: 'bexio',
    async run(payload, { signal, deliveryId }) {
      const c = isObject(payload['call']) ? payload['call'] : {};
      const at = (name: string) => {
        const value = text(c[name]);
        return value === undefined ? undefined : parseIsoTime(value);
      };
      const started = at('startedTime') ?? at('answeredTime');
      if (started === undefined) {
        throw new DeliveryError('bexio action: the call has no start time; bexio needs one', {
          permanent: true,
        });
      }
      const eventStart = formatInZone(started, config.timeZone);
      const contact = isObject(payload['contact']) ? payload['contact'] : undefined;
      const contactId = contactOf(contact);
      const mark = bexioMark(deliveryId);
      const found = await call(
        {
          method: 'POST',
          path: '/2.0/note/search',
          body: [
            { field: 'user_id', value: config.userId, criteria: '=' },
            { field: 'event_start', value: eventStart, criteria: '=' },
          ],
          what: 'look for the note',
        },
        signal,
      );
      const made = Array.isArray(found)
        ? found.find(
            (note) => isObject(note) && typeof note['info'] === 'string' && note['info'].includes(mark),
          )
        : undefined;
      const madeId = isObject(made) && typeof made['id'] === 'number' ? String(made['id']) : undefined;
      if (madeId) return { id: madeId };
      const incoming = text(c['direction'])?.toLowerCase() !== 'outgoing';
      const other = incoming ? text(c['originatorNumber']) : text(c['destinationNumber']);
      const who = text(contact?.['name']) ?? text(contact?.['company']) ?? other ?? 'unknown number';
      const seconds = c['durationSeconds'];
      const answered = c['status'] === 'answered';
      const info = [
        `${incoming ? 'From' : 'To'}: ${other ?? 'unknown number'}`,
        answered
          ? `Answered${typeof seconds === 'number' && Number.isFinite(seconds) ? `, ${Math.round(seconds)} s` : ''}`
          : 'Not answered',
        mark,
      ].join('\n');
      const note = {
        user_id: config.userId,
        event_start: eventStart,
        subject: `${incoming ? 'Incoming' : 'Outgoing'} call ${incoming ? 'from' : 'to'} ${who}`.slice(
          0,
          255,
        ),
        info,
        ...(contactId !== undefined && { contact_id: contactId }),
      };
      const answer = await call(
        { method: 'POST', path: '/2.0/note', body: note, what: 'log the call' },
        signal,
      );
      const id = isObject(answer) && typeof answer['id'] === 'number' ? String(answer['id']) : undefined;
      if (!id) throw new DeliveryError('bexio action (log the call): the answer gives no note id');
      return { id };
    },
  };
}
