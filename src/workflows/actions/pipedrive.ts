import * as z from 'zod';
import { tokenOrAuth, tokenOrAuthFields } from '../../net/auth-schema.js';
import { isObject } from '../../util/json.js';
import { parseIsoTime } from '../../util/time.js';
import { type Action, type ActionDeps, DeliveryError, retrySettings } from './types.js';
import { createVendorCaller, utcDateTime } from './vendor-http.js';

/** Logs each call as a Pipedrive call log (`POST /api/v1/callLogs`), linked to the person found. */
export const pipedriveActionSchema = z
  .object({
    type: z.literal('pipedrive'),
    /** A user's API token (`token`, `tokenEnv` or `tokenFile`), sent as `x-api-token`; or `auth` of any kind. */
    ...tokenOrAuthFields,
    /** The name of the pipedrive source: a call whose contact it found is linked to that person or organization. */
    source: z.string().min(1).optional(),
    /** The Pipedrive user the call logs belong to; by default the token's user. */
    userId: z.coerce.number().int().positive().optional(),
    /** `acme` of acme.pipedrive.com: the answer's link then opens the person in Pipedrive. */
    companyDomain: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/i, 'must be the first part of <name>.pipedrive.com')
      .optional(),
    baseUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .default('https://api.pipedrive.com'),
    /**
     * Pipedrive's call logs cannot be searched: before logging a call, the user's call logs are read
     * (50 a page) for this delivery's mark, at most this many pages.
     */
    lookupPages: z.coerce.number().int().min(1).max(200).default(20),
    /** Longest time an attempt may take (its lookup included). */
    timeoutMs: z.coerce.number().int().min(100).max(120_000).default(20_000),
    ...retrySettings,
  })
  .strict()
  .superRefine((config, ctx) => {
    try {
      tokenOrAuth(config, { type: 'apiKey', header: 'x-api-token' });
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['token'], message: (error as Error).message });
    }
  });

export type PipedriveActionConfig = z.output<typeof pipedriveActionSchema>;

/** Test seams: the environment secrets are read from. */
export interface PipedriveActionOptions {
  readonly env?: NodeJS.ProcessEnv;
}

/** How Pipedrive names the call's end: answered calls were connected, the others not answered. */
const OUTCOME = { answered: 'connected', missed: 'no_answer' } as const;

/** The line in a call log's note that marks the delivery it came from: found again on a retry. */
export const deliveryMark = (deliveryId: string) => `callcard delivery ${deliveryId}`;

const CALL_LOG_PAGE = 50;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

/** Pipedrive's id of the contact, when the configured pipedrive source found it: a person or `org-<id>`. */
function linkOf(
  contact: unknown,
  source: string | undefined,
): { person_id: number } | { org_id: number } | undefined {
  if (!source || !isObject(contact) || contact['source'] !== source) return undefined;
  const id = text(contact['id']);
  const match = id ? /^(org-)?(\d{1,15})$/.exec(id) : null;
  if (!match) return undefined;
  return match[1] ? { org_id: Number(match[2]) } : { person_id: Number(match[2]) };
}

/**
 * A Pipedrive call log per call. Pipedrive has no idempotency key and no search in call logs: the
 * log's note carries the delivery's mark, and a delivery first reads the user's latest call logs for
 * it, so a delivery tried again (after a lost answer or a crash) answers the log it made.
 */
export function createPipedriveAction(
  config: PipedriveActionConfig,
  deps: ActionDeps,
  options: PipedriveActionOptions = {},
): Action {
  const call = createVendorCaller({
    name: 'pipedrive',
    auth: () => tokenOrAuth(config, { type: 'apiKey', header: 'x-api-token' }),
    baseUrl: config.baseUrl,
    timeoutMs: config.timeoutMs,
    deps,
    env: options.env,
  });
  const web = config.companyDomain ? `https://${config.companyDomain}.pipedrive.com` : undefined;

  async function findLogged(mark: string, signal: AbortSignal): Promise<string | undefined> {
    for (let page = 0; page < config.lookupPages; page++) {
      const answer = await call(
        {
          method: 'GET',
          path: '/api/v1/callLogs',
          query: { start: String(page * CALL_LOG_PAGE), limit: String(CALL_LOG_PAGE) },
          what: 'look for the call log',
        },
        signal,
      );
      const data = isObject(answer) && Array.isArray(answer['data']) ? answer['data'] : [];
      for (const log of data) {
        if (isObject(log) && typeof log['note'] === 'string' && log['note'].includes(mark)) {
          const id = text(log['id']) ?? (typeof log['id'] === 'number' ? String(log['id']) : undefined);
          if (id) return id;
        }
      }
      const more = isObject(answer) && isObject(answer['additional_data']) ? answer['additional_data'] : {};
      const paging = isObject(more['pagination']) ? more['pagination'] : more;
      if (paging['more_items_in_collection'] !== true) return undefined;
    }
    return undefined;
  }

  function callLog(payload: Readonly<Record<string, unknown>>, mark: string): Record<string, unknown> {
    const c = isObject(payload['call']) ? payload['call'] : {};
    const time = (name: string) => {
      const value = text(c[name]);
      return value === undefined ? undefined : parseIsoTime(value);
    };
    const started = time('startedTime') ?? time('answeredTime');
    if (started === undefined) {
      throw new DeliveryError('pipedrive action: the call has no start time; Pipedrive needs one', {
        permanent: true,
      });
    }
    const ended = Math.max(time('endedTime') ?? time('declinedTime') ?? started, started);
    const from = text(c['originatorNumber']);
    const to = text(c['destinationNumber']);
    if (!to) {
      throw new DeliveryError('pipedrive action: the call has no destination number; Pipedrive needs one', {
        permanent: true,
      });
    }
    const incoming = text(c['direction'])?.toLowerCase() !== 'outgoing';
    const other = incoming ? from : to;
    const contact = isObject(payload['contact']) ? payload['contact'] : undefined;
    const who = text(contact?.['name']) ?? text(contact?.['company']) ?? other ?? 'unknown number';
    const seconds = c['durationSeconds'];
    const status = c['status'] === 'answered' ? 'answered' : 'missed';
    return {
      subject: `${incoming ? 'Incoming' : 'Outgoing'} call ${incoming ? 'from' : 'to'} ${who}`,
      outcome: OUTCOME[status],
      to_phone_number: to,
      ...(from && { from_phone_number: from }),
      start_time: utcDateTime(started),
      end_time: utcDateTime(ended),
      ...(typeof seconds === 'number' &&
        Number.isFinite(seconds) && { duration: String(Math.round(seconds)) }),
      ...linkOf(contact, config.source),
      ...(config.userId !== undefined && { user_id: config.userId }),
      note: mark,
    };
  }

  return {
    type: 'pipedrive',
    async run(payload, { signal, deliveryId }) {
      const mark = deliveryMark(deliveryId);
      const body = callLog(payload, mark);
      const link = 'person_id' in body ? `${web}/person/${body['person_id']}` : undefined;
      const result = (id: string) => ({ id, ...(web && link && { url: link }) });
      const found = await findLogged(mark, signal);
      if (found) return result(found);
      const answer = await call(
        { method: 'POST', path: '/api/v1/callLogs', body, what: 'log the call' },
        signal,
      );
      const data = isObject(answer) && isObject(answer['data']) ? answer['data'] : undefined;
      const id = text(data?.['id']) ?? (typeof data?.['id'] === 'number' ? String(data['id']) : undefined);
      // The log exists once Pipedrive said 2xx; a retry finds it by its mark.
      if (!id) throw new DeliveryError('pipedrive action (log the call): the answer gives no call log id');
      return result(id);
    },
  };
}
