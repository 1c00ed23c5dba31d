import { createHash } from 'node:crypto';
import * as z from 'zod';
import { clientCredentialsOrAuth, clientCredentialsOrAuthFields } from '../../net/auth-schema.js';
import { isObject } from '../../util/json.js';
import { parseIsoTime } from '../../util/time.js';
import { type Action, type ActionDeps, DeliveryError, retrySettings } from './types.js';
import { createVendorCaller } from './vendor-http.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Logs each call as a Dynamics 365 phone call activity (`POST /phonecalls`), regarding the contact or account found. */
export const dynamics365ActionSchema = z
  .object({
    type: z.literal('dynamics365'),
    /** The environment's address, `https://contoso.crm4.dynamics.com`. */
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    /** The Entra ID tenant the app is registered in (its id or a domain). */
    tenantId: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9.-]{0,253}$/, 'must be a tenant id (GUID) or domain')
      .optional(),
    /** The app registration's client id and secret (client credentials); or `auth` of any kind. */
    ...clientCredentialsOrAuthFields,
    authorityUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .default('https://login.microsoftonline.com'),
    apiVersion: z
      .string()
      .regex(/^9\.\d$/, 'must be a Web API version such as 9.2')
      .default('9.2'),
    /** The name of the dynamics365 source: a call whose contact it found is logged regarding that record. */
    source: z.string().min(1).optional(),
    /** Longest time an attempt may take (its lookup included). */
    timeoutMs: z.coerce.number().int().min(100).max(120_000).default(20_000),
    ...retrySettings,
  })
  .strict()
  .superRefine((config, ctx) => {
    try {
      clientCredentialsOrAuth(config, { tokenUrl: 'https://login.microsoftonline.com/x/oauth2/v2.0/token' });
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['clientId'], message: (error as Error).message });
    }
    if (config.clientId !== undefined && config.tenantId === undefined) {
      ctx.addIssue({ code: 'custom', path: ['tenantId'], message: 'needs tenantId with clientId' });
    }
  });

export type Dynamics365ActionConfig = z.output<typeof dynamics365ActionSchema>;

/** Test seams: the environment secrets are read from. */
export interface Dynamics365ActionOptions {
  readonly env?: NodeJS.ProcessEnv;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

/** The words in a phone call's description that mark the delivery it came from. */
export const dynamicsMark = (deliveryId: string) => `callcard delivery ${deliveryId}`;

/**
 * The phone call's id, made from the delivery's: the same delivery always names the same
 * activity (an RFC 9562 name-based GUID, version 8, of the SHA-256 of the delivery id).
 */
export function activityIdOf(deliveryId: string): string {
  const hex = createHash('sha256').update(`callcard:${deliveryId}`).digest('hex');
  const variant = ((Number.parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The record a dynamics365 source found: a contact (its GUID) or an account (`account-<GUID>`). */
function regardingOf(contact: unknown, source: string | undefined): Record<string, string> {
  if (!source || !isObject(contact) || contact['source'] !== source) return {};
  const id = text(contact['id']) ?? '';
  const account = /^account-(.+)$/.exec(id)?.[1];
  if (account && GUID.test(account))
    return { 'regardingobjectid_account@odata.bind': `/accounts(${account})` };
  if (GUID.test(id)) return { 'regardingobjectid_contact@odata.bind': `/contacts(${id})` };
  return {};
}

/**
 * A Dataverse phone call activity per call. Its `activityid` is made from the delivery's id, so a
 * delivery tried again (after a lost answer or a crash) asks for that activity first and answers
 * it instead of making another; the description carries the delivery's mark for people too.
 */
export function createDynamics365Action(
  config: Dynamics365ActionConfig,
  deps: ActionDeps,
  options: Dynamics365ActionOptions = {},
): Action {
  const origin = new URL(config.url).origin;
  const authority = config.authorityUrl.replace(/\/+$/, '');
  const call = createVendorCaller({
    name: 'dynamics365',
    auth: () =>
      clientCredentialsOrAuth(config, {
        tokenUrl: `${authority}/${config.tenantId}/oauth2/v2.0/token`,
        scope: `${origin}/.default`,
        clientAuth: 'body',
      }),
    deps,
    env: options.env,
    baseUrl: `${origin}/api/data/v${config.apiVersion}`,
    timeoutMs: config.timeoutMs,
    headers: { 'odata-version': '4.0', 'odata-maxversion': '4.0' },
  });
  const result = (id: string) => ({
    id,
    url: `${origin}/main.aspx?pagetype=entityrecord&etn=phonecall&id=${id}`,
  });

  return {
    type: 'dynamics365',
    async run(payload, { signal, deliveryId }) {
      const c = isObject(payload['call']) ? payload['call'] : {};
      const at = (name: string) => {
        const value = text(c[name]);
        return value === undefined ? undefined : parseIsoTime(value);
      };
      const started = at('startedTime') ?? at('answeredTime');
      if (started === undefined) {
        throw new DeliveryError('dynamics365 action: the call has no start time', { permanent: true });
      }
      const ended = Math.max(at('endedTime') ?? at('declinedTime') ?? started, started);
      const id = activityIdOf(deliveryId);
      const found = await call(
        {
          method: 'GET',
          path: '/phonecalls',
          query: { $select: 'activityid', $filter: `activityid eq ${id}` },
          what: 'look for the phone call',
        },
        signal,
      );
      const made =
        isObject(found) && Array.isArray(found['value']) ? found['value'].find(isObject) : undefined;
      if (made) return result(id);
      const incoming = text(c['direction'])?.toLowerCase() !== 'outgoing';
      const other = incoming ? text(c['originatorNumber']) : text(c['destinationNumber']);
      const contact = isObject(payload['contact']) ? payload['contact'] : undefined;
      const who = text(contact?.['name']) ?? text(contact?.['company']) ?? other ?? 'unknown number';
      const answered = c['status'] === 'answered';
      const seconds = c['durationSeconds'];
      const lines = [
        `${incoming ? 'From' : 'To'}: ${other ?? 'unknown number'}`,
        answered
          ? `Answered${typeof seconds === 'number' && Number.isFinite(seconds) ? `, ${Math.round(seconds)} s` : ''}`
          : 'Not answered',
        dynamicsMark(deliveryId),
      ];
      await call(
        {
          method: 'POST',
          path: '/phonecalls',
          body: {
            activityid: id,
            subject: `${incoming ? 'Incoming' : 'Outgoing'} call ${incoming ? 'from' : 'to'} ${who}`.slice(
              0,
              200,
            ),
            description: lines.join('\n').slice(0, 2000),
            ...(other && { phonenumber: other.slice(0, 200) }),
            directioncode: !incoming,
            ...(answered &&
              typeof seconds === 'number' &&
              Number.isFinite(seconds) &&
              seconds >= 0 && { actualdurationminutes: Math.ceil(seconds / 60) }),
            actualstart: new Date(started).toISOString(),
            actualend: new Date(ended).toISOString(),
            ...regardingOf(payload['contact'], config.source),
          },
          what: 'log the call',
        },
        signal,
      );
      return result(id);
    },
  };
}
