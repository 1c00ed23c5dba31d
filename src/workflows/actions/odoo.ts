import * as z from 'zod';
import { readSecret } from '../../config/secret-fields.js';
import type { AuthConfig } from '../../net/auth-schema.js';
import {
  type OdooCall,
  OdooError,
  odooConnectionFields,
  odooConnectionIssues,
  odooLoginRequest,
  odooRequest,
  odooResult,
  odooTime,
} from '../../net/odoo-rpc.js';
import { isObject } from '../../util/json.js';
import { parseIsoTime } from '../../util/time.js';
import { type Action, type ActionDeps, DeliveryError, retrySettings } from './types.js';
import { createVendorCaller } from './vendor-http.js';

/**
 * Logs each call on the Odoo contact found: a note in its chatter (`message_post`), or a phone-call
 * activity (`mail.activity` of the phone call type).
 */
export const odooActionSchema = z
  .object({
    type: z.literal('odoo'),
    ...odooConnectionFields,
    /** `message`: a note in the contact's chatter; `activity`: a phone-call activity planned on it. */
    log: z.enum(['message', 'activity']).default('message'),
    /** The name of the odoo source: a call whose contact it found is logged on that partner. */
    source: z.string().min(1).optional(),
    /** The partner that calls of numbers no Odoo contact has are logged on; without it they are not logged. */
    unknownCallerPartnerId: z.coerce.number().int().positive().optional(),
    /** Longest time an attempt may take (its lookup included). */
    timeoutMs: z.coerce.number().int().min(100).max(120_000).default(20_000),
    ...retrySettings,
  })
  .strict()
  .superRefine((config, ctx) => {
    const keys = (['apiKey', 'apiKeyEnv', 'apiKeyFile'] as const).filter((key) => config[key] !== undefined);
    if (keys.length !== 1)
      ctx.addIssue({
        code: 'custom',
        path: ['apiKey'],
        message: 'give one of apiKey, apiKeyEnv, apiKeyFile',
      });
    for (const issue of odooConnectionIssues(config))
      ctx.addIssue({ code: 'custom', path: [issue.path], message: issue.message });
  });

export type OdooActionConfig = z.output<typeof odooActionSchema>;

/** Test seams: the environment secrets are read from. */
export interface OdooActionOptions {
  readonly env?: NodeJS.ProcessEnv;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

/** The words in a logged call that mark the delivery it came from: found again on a retry. */
export const odooMark = (deliveryId: string) => `callcard delivery ${deliveryId}`;

const escapeHtml = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * An Odoo note or phone-call activity per call. Odoo has no idempotency key: the text carries the
 * delivery's mark, and a delivery first looks for a message (or activity) of the partner with it,
 * so a delivery tried again (after a lost answer or a crash) answers the record it made.
 */
export function createOdooAction(
  config: OdooActionConfig,
  deps: ActionDeps,
  options: OdooActionOptions = {},
): Action {
  const env = options.env ?? process.env;
  let apiKey: string;
  try {
    apiKey = readSecret(config as Record<string, unknown>, 'apiKey', { baseDir: deps.baseDir, env });
  } catch (error) {
    throw new Error(`odoo action: ${(error as Error).message.replace(/auth\./g, '')}`);
  }
  const send = createVendorCaller({
    name: 'odoo',
    auth: (): AuthConfig =>
      config.api === 'json2' ? ({ type: 'bearer', token: apiKey } as AuthConfig) : { type: 'none' },
    baseUrl: config.url,
    timeoutMs: config.timeoutMs,
    deps,
    env,
    ...(config.api === 'json2' && config.database && { headers: { 'x-odoo-database': config.database } }),
  });
  let uid: number | undefined;

  async function post(path: string, body: unknown, what: string, signal: AbortSignal): Promise<unknown> {
    const json = await send({ method: 'POST', path, body, what }, signal);
    try {
      return odooResult(config.api, json, `odoo action (${what})`);
    } catch (error) {
      // Refused by Odoo (access, a missing record, a wrong field): trying again changes nothing.
      if (error instanceof OdooError) throw new DeliveryError(error.message, { permanent: true });
      throw error;
    }
  }

  async function call(odoo: OdooCall, what: string, signal: AbortSignal): Promise<unknown> {
    if (config.api === 'jsonrpc' && uid === undefined) {
      const login = odooLoginRequest(config.database!, config.login!, apiKey);
      const found = await post(login.path, login.body, 'log in', signal);
      if (typeof found !== 'number')
        throw new DeliveryError('odoo action (log in): Odoo refused the login and API key', {
          permanent: true,
        });
      uid = found;
    }
    const request = odooRequest(
      config.api,
      odoo,
      uid === undefined ? undefined : { database: config.database!, uid, apiKey },
    );
    return post(request.path, request.body, what, signal);
  }

  const firstId = (found: unknown): number | undefined => {
    const record = Array.isArray(found) ? found.find(isObject) : undefined;
    return record && typeof record['id'] === 'number' ? record['id'] : undefined;
  };

  function partnerOf(contact: Record<string, unknown> | undefined): number | undefined {
    if (config.source && contact?.['source'] === config.source) {
      const id = text(contact['id']);
      if (id && /^\d{1,18}$/.test(id)) return Number(id);
    }
    return config.unknownCallerPartnerId;
  }

  return {
    type: 'odoo',
    async run(payload, { signal, deliveryId }) {
      const contact = isObject(payload['contact']) ? payload['contact'] : undefined;
      const partnerId = partnerOf(contact);
      // Nothing to log it on: the delivery is done without a record.
      if (partnerId === undefined) return {};
      const c = isObject(payload['call']) ? payload['call'] : {};
      const incoming = text(c['direction'])?.toLowerCase() !== 'outgoing';
      const other = incoming ? text(c['originatorNumber']) : text(c['destinationNumber']);
      const answered = c['status'] === 'answered';
      const seconds = c['durationSeconds'];
      const started = text(c['startedTime']) ?? text(c['answeredTime']);
      const startedAt = started === undefined ? undefined : parseIsoTime(started);
      const mark = odooMark(deliveryId);
      const who = text(contact?.['name']) ?? text(contact?.['company']) ?? other ?? 'unknown number';
      const summary = `${incoming ? 'Incoming' : 'Outgoing'} call ${incoming ? 'from' : 'to'} ${who}`;
      const lines = [
        summary,
        `${incoming ? 'From' : 'To'}: ${other ?? 'unknown number'}`,
        ...(startedAt === undefined ? [] : [`At: ${odooTime(startedAt)} UTC`]),
        answered
          ? `Answered${typeof seconds === 'number' && Number.isFinite(seconds) ? `, ${Math.round(seconds)} s` : ''}`
          : 'Not answered',
        mark,
      ];
      const html = lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('');
      if (config.log === 'message') {
        const found = await call(
          {
            model: 'mail.message',
            method: 'search_read',
            kwargs: {
              domain: [
                ['model', '=', 'res.partner'],
                ['res_id', '=', partnerId],
                ['body', 'ilike', mark],
              ],
              fields: ['id'],
              limit: 1,
            },
          },
          'look for the note',
          signal,
        );
        const made = firstId(found);
        if (made !== undefined) return { id: String(made) };
        const posted = await call(
          {
            model: 'res.partner',
            method: 'message_post',
            ids: [partnerId],
            kwargs: { body: html, message_type: 'comment', subtype_xmlid: 'mail.mt_note' },
          },
          'log the call',
          signal,
        );
        const id = typeof posted === 'number' ? posted : Array.isArray(posted) ? posted[0] : undefined;
        if (typeof id !== 'number')
          throw new DeliveryError('odoo action (log the call): the answer gives no message id');
        return { id: String(id) };
      }
      const found = await call(
        {
          model: 'mail.activity',
          method: 'search_read',
          kwargs: {
            domain: [
              ['res_model', '=', 'res.partner'],
              ['res_id', '=', partnerId],
              ['note', 'ilike', mark],
            ],
            fields: ['id'],
            limit: 1,
          },
        },
        'look for the activity',
        signal,
      );
      const made = firstId(found);
      if (made !== undefined) return { id: String(made) };
      const [model, type] = await Promise.all([
        call(
          {
            model: 'ir.model',
            method: 'search_read',
            kwargs: { domain: [['model', '=', 'res.partner']], fields: ['id'], limit: 1 },
          },
          'find the contacts model',
          signal,
        ),
        call(
          {
            model: 'mail.activity.type',
            method: 'search_read',
            kwargs: { domain: [['category', '=', 'phonecall']], fields: ['id'], limit: 1 },
          },
          'find the phone call activity type',
          signal,
        ),
      ]);
      const modelId = firstId(model);
      const typeId = firstId(type);
      if (modelId === undefined || typeId === undefined) {
        throw new DeliveryError('odoo action: this Odoo has no phone call activity type; use log: message', {
          permanent: true,
        });
      }
      const created = await call(
        {
          model: 'mail.activity',
          method: 'create',
          kwargs: {
            vals_list: [
              {
                res_model_id: modelId,
                res_id: partnerId,
                activity_type_id: typeId,
                summary: summary.slice(0, 255),
                note: html,
                date_deadline: odooTime(startedAt ?? Date.now()).slice(0, 10),
              },
            ],
          },
        },
        'log the call',
        signal,
      );
      const id = Array.isArray(created) ? created[0] : created;
      if (typeof id !== 'number')
        throw new DeliveryError('odoo action (log the call): the answer gives no activity id');
      return { id: String(id) };
    },
  };
}
