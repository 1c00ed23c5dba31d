import * as z from 'zod';
import { tokenOrAuth, tokenOrAuthFields } from '../../net/auth-schema.js';
import { isObject } from '../../util/json.js';
import { parseIsoTime } from '../../util/time.js';
import { type Action, type ActionDeps, DeliveryError, retrySettings } from './types.js';
import { createVendorCaller } from './vendor-http.js';

/** Logs each call as a HubSpot call (`POST /crm/v3/objects/calls`), associated with the contact found. */
export const hubspotActionSchema = z
  .object({
    type: z.literal('hubspot'),
    /** A private app's access token (`token`, `tokenEnv` or `tokenFile`); or `auth` of any kind. */
    ...tokenOrAuthFields,
    /** The name of the hubspot source: a call whose contact it found is associated with that contact or company. */
    source: z.string().min(1).optional(),
    /** The HubSpot account (portal) id: the answer's link then opens the call in HubSpot. */
    portalId: z.coerce.number().int().positive().optional(),
    /** The HubSpot user the calls are logged for (`hubspot_owner_id`). */
    ownerId: z.coerce.number().int().positive().optional(),
    baseUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .default('https://api.hubapi.com'),
    /** Longest time an attempt may take (its search included). */
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

export type HubspotActionConfig = z.output<typeof hubspotActionSchema>;

/** Test seams: the environment secrets are read from. */
export interface HubspotActionOptions {
  readonly env?: NodeJS.ProcessEnv;
}

/** HubSpot's defined association types of a call: to a contact, to a company. */
export const CALL_TO_CONTACT = 194;
export const CALL_TO_COMPANY = 182;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

/** The record the hubspot source found: a contact (its id) or a company (`company-<id>`). */
function associationOf(contact: unknown, source: string | undefined) {
  if (!source || !isObject(contact) || contact['source'] !== source) return undefined;
  const match = /^(company-)?(\d{1,20})$/.exec(text(contact['id']) ?? '');
  if (!match) return undefined;
  return {
    to: { id: match[2]! },
    types: [
      {
        associationCategory: 'HUBSPOT_DEFINED',
        associationTypeId: match[1] ? CALL_TO_COMPANY : CALL_TO_CONTACT,
      },
    ],
  };
}

/**
 * A HubSpot call per call, its `hs_call_external_id` the delivery's id: a delivery tried again
 * (after a lost answer or a crash) finds the call it made by a search on it, and answers that one.
 * A call that changes later updates its record (`PATCH /crm/v3/objects/calls/{id}`).
 */
export function createHubspotAction(
  config: HubspotActionConfig,
  deps: ActionDeps,
  options: HubspotActionOptions = {},
): Action {
  const call = createVendorCaller({
    name: 'hubspot',
    auth: () => tokenOrAuth(config, { type: 'bearer' }),
    baseUrl: config.baseUrl,
    timeoutMs: config.timeoutMs,
    deps,
    env: options.env,
  });
  const result = (id: string) => ({
    id,
    ...(config.portalId && { url: `https://app.hubspot.com/contacts/${config.portalId}/record/0-48/${id}` }),
  });

  /** The call's properties: every value a string, as HubSpot's API takes them. */
  function properties(
    payload: Readonly<Record<string, unknown>>,
    deliveryId: string,
  ): Record<string, string> {
    const c = isObject(payload['call']) ? payload['call'] : {};
    const at = (name: string) => {
      const value = text(c[name]);
      return value === undefined ? undefined : parseIsoTime(value);
    };
    const started = at('startedTime') ?? at('answeredTime');
    if (started === undefined) {
      throw new DeliveryError('hubspot action: the call has no start time; HubSpot needs one', {
        permanent: true,
      });
    }
    const incoming = text(c['direction'])?.toLowerCase() !== 'outgoing';
    const from = text(c['originatorNumber']);
    const to = text(c['destinationNumber']);
    const contact = isObject(payload['contact']) ? payload['contact'] : undefined;
    const who =
      text(contact?.['name']) ?? text(contact?.['company']) ?? (incoming ? from : to) ?? 'unknown number';
    const seconds = c['durationSeconds'];
    return {
      hs_timestamp: new Date(started).toISOString(),
      hs_call_title: `${incoming ? 'Incoming' : 'Outgoing'} call ${incoming ? 'from' : 'to'} ${who}`,
      hs_call_direction: incoming ? 'INBOUND' : 'OUTBOUND',
      hs_call_status: c['status'] === 'answered' ? 'COMPLETED' : 'NO_ANSWER',
      ...(typeof seconds === 'number' &&
        Number.isFinite(seconds) && { hs_call_duration: String(Math.round(seconds * 1000)) }),
      ...(from && { hs_call_from_number: from }),
      ...(to && { hs_call_to_number: to }),
      ...(config.ownerId !== undefined && { hubspot_owner_id: String(config.ownerId) }),
      hs_call_external_id: deliveryId,
    };
  }

  async function findMade(deliveryId: string, signal: AbortSignal): Promise<string | undefined> {
    const answer = await call(
      {
        method: 'POST',
        path: '/crm/v3/objects/calls/search',
        body: {
          filterGroups: [
            { filters: [{ propertyName: 'hs_call_external_id', operator: 'EQ', value: deliveryId }] },
          ],
          properties: ['hs_call_external_id'],
          sorts: [],
          limit: 1,
          after: '0',
        },
        what: 'look for the call',
      },
      signal,
    );
    const results = isObject(answer) && Array.isArray(answer['results']) ? answer['results'] : [];
    return results.map((found) => (isObject(found) ? text(found['id']) : undefined)).find(Boolean);
  }

  return {
    type: 'hubspot',
    updates: true,
    async run(payload, { signal, deliveryId, update }) {
      if (update) {
        if (!update.made || !update.id) {
          throw new DeliveryError(
            `hubspot action: nothing to update, the first delivery (${update.of}) was not made`,
            { permanent: true },
          );
        }
        const changed = properties(payload, update.of);
        await call(
          {
            method: 'PATCH',
            path: `/crm/v3/objects/calls/${encodeURIComponent(update.id)}`,
            body: { properties: changed },
            what: 'update the call',
          },
          signal,
        );
        return result(update.id);
      }
      const body = properties(payload, deliveryId);
      const found = await findMade(deliveryId, signal);
      if (found) return result(found);
      const association = associationOf(payload['contact'], config.source);
      const answer = await call(
        {
          method: 'POST',
          path: '/crm/v3/objects/calls',
          body: { properties: body, associations: association ? [association] : [] },
          what: 'log the call',
        },
        signal,
      );
      const id = isObject(answer) ? text(answer['id']) : undefined;
      if (!id) throw new DeliveryError('hubspot action (log the call): the answer gives no call id');
      return result(id);
    },
  };
}
