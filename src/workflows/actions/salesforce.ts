import * as z from 'zod';
import { clientCredentialsOrAuth, clientCredentialsOrAuthFields } from '../../net/auth-schema.js';
import { isObject } from '../../util/json.js';
import { parseIsoTime } from '../../util/time.js';
import { type Action, type ActionDeps, DeliveryError, retrySettings } from './types.js';
import { createVendorCaller } from './vendor-http.js';

const salesforceId = z.string().regex(/^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$/, 'must be a Salesforce id');

/** Logs each call as a Salesforce Task of the subtype Call (`POST /sobjects/Task`), on the contact, lead or account found. */
export const salesforceActionSchema = z
  .object({
    type: z.literal('salesforce'),
    /** The org's My Domain address, `https://acme.my.salesforce.com`. */
    instanceUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    /** The app's consumer key and secret (client credentials flow); or `auth` of any kind. */
    ...clientCredentialsOrAuthFields,
    apiVersion: z
      .string()
      .regex(/^\d{2,3}\.0$/, 'must be an API version such as 62.0')
      .default('62.0'),
    /** The name of the salesforce source: a call whose contact it found is logged on that record. */
    source: z.string().min(1).optional(),
    /** The user the tasks are assigned to (`OwnerId`); without it, the user the app runs as. */
    ownerId: salesforceId.optional(),
    /** Longest time an attempt may take (its lookup included). */
    timeoutMs: z.coerce.number().int().min(100).max(120_000).default(20_000),
    ...retrySettings,
  })
  .strict()
  .superRefine((config, ctx) => {
    try {
      clientCredentialsOrAuth(config, { tokenUrl: tokenUrlOf(config.instanceUrl) });
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['clientId'], message: (error as Error).message });
    }
  });

export type SalesforceActionConfig = z.output<typeof salesforceActionSchema>;

/** Test seams: the environment secrets are read from. */
export interface SalesforceActionOptions {
  readonly env?: NodeJS.ProcessEnv;
}

const tokenUrlOf = (instanceUrl: string) => `${instanceUrl.replace(/\/+$/, '')}/services/oauth2/token`;

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

/** A value in a SOQL string literal: backslashes and quotes escaped. */
const soqlString = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** The record a salesforce source found, by its id's key prefix: a contact or lead (`WhoId`), an account (`WhatId`). */
function relatedOf(contact: unknown, source: string | undefined): Record<string, string> {
  if (!source || !isObject(contact) || contact['source'] !== source) return {};
  const id = text(contact['id']);
  if (!id || !salesforceId.safeParse(id).success) return {};
  if (id.startsWith('003') || id.startsWith('00Q')) return { WhoId: id };
  if (id.startsWith('001')) return { WhatId: id };
  return {};
}

/**
 * A Salesforce Task per call (`TaskSubtype` Call), its `CallObject` the delivery's id (the
 * workflow, our call id and the action): a delivery tried again (after a lost answer or a crash)
 * finds the task it made by a query on it, and answers that one. A call that changes later updates
 * its task (`PATCH /sobjects/Task/{id}`).
 */
export function createSalesforceAction(
  config: SalesforceActionConfig,
  deps: ActionDeps,
  options: SalesforceActionOptions = {},
): Action {
  const instance = config.instanceUrl.replace(/\/+$/, '');
  const call = createVendorCaller({
    name: 'salesforce',
    auth: () => clientCredentialsOrAuth(config, { tokenUrl: tokenUrlOf(instance), clientAuth: 'body' }),
    baseUrl: `${instance}/services/data/v${config.apiVersion}`,
    timeoutMs: config.timeoutMs,
    deps,
    env: options.env,
  });
  const result = (id: string) => ({ id, url: `${instance}/${id}` });

  /** The task's fields that describe the call (the ones an update may change too). */
  function callFields(payload: Readonly<Record<string, unknown>>): Record<string, string | number> {
    const c = isObject(payload['call']) ? payload['call'] : {};
    const at = (name: string) => {
      const value = text(c[name]);
      return value === undefined ? undefined : parseIsoTime(value);
    };
    const started = at('startedTime') ?? at('answeredTime');
    if (started === undefined) {
      throw new DeliveryError('salesforce action: the call has no start time', { permanent: true });
    }
    const incoming = text(c['direction'])?.toLowerCase() !== 'outgoing';
    const from = text(c['originatorNumber']);
    const to = text(c['destinationNumber']);
    const other = incoming ? from : to;
    const contact = isObject(payload['contact']) ? payload['contact'] : undefined;
    const who = text(contact?.['name']) ?? text(contact?.['company']) ?? other ?? 'unknown number';
    const answered = c['status'] === 'answered';
    const seconds = c['durationSeconds'];
    const description = [
      `From: ${from ?? 'unknown number'}`,
      `To: ${to ?? 'unknown number'}`,
      `Started: ${new Date(started).toISOString()}`,
    ].join('\n');
    return {
      Subject: `${incoming ? 'Incoming' : 'Outgoing'} call ${incoming ? 'from' : 'to'} ${who}`.slice(0, 255),
      Status: 'Completed',
      ActivityDate: new Date(started).toISOString().slice(0, 10),
      CallType: incoming ? 'Inbound' : 'Outbound',
      CallDisposition: answered ? 'Answered' : 'Not answered',
      ...(answered &&
        typeof seconds === 'number' &&
        Number.isFinite(seconds) &&
        seconds >= 0 && { CallDurationInSeconds: Math.round(seconds) }),
      Description: description,
    };
  }

  async function findMade(deliveryId: string, signal: AbortSignal): Promise<string | undefined> {
    const answer = await call(
      {
        method: 'GET',
        path: '/query',
        query: { q: `SELECT Id FROM Task WHERE CallObject = ${soqlString(deliveryId)}` },
        what: 'look for the task',
      },
      signal,
    );
    const records = isObject(answer) && Array.isArray(answer['records']) ? answer['records'] : [];
    return records.map((found) => (isObject(found) ? text(found['Id']) : undefined)).find(Boolean);
  }

  return {
    type: 'salesforce',
    updates: true,
    async run(payload, { signal, deliveryId, update }) {
      if (update) {
        if (!update.made || !update.id) {
          throw new DeliveryError(
            `salesforce action: nothing to update, the first delivery (${update.of}) was not made`,
            { permanent: true },
          );
        }
        await call(
          {
            method: 'PATCH',
            path: `/sobjects/Task/${encodeURIComponent(update.id)}`,
            body: callFields(payload),
            what: 'update the task',
          },
          signal,
        );
        return result(update.id);
      }
      if (deliveryId.length > 255) {
        throw new DeliveryError('salesforce action: the delivery id is longer than CallObject takes', {
          permanent: true,
        });
      }
      const fields = callFields(payload);
      const found = await findMade(deliveryId, signal);
      if (found) return result(found);
      const answer = await call(
        {
          method: 'POST',
          path: '/sobjects/Task',
          body: {
            ...fields,
            TaskSubtype: 'Call',
            CallObject: deliveryId,
            ...relatedOf(payload['contact'], config.source),
            ...(config.ownerId && { OwnerId: config.ownerId }),
          },
          what: 'log the call',
        },
        signal,
      );
      const id = isObject(answer) ? text(answer['id']) : undefined;
      if (!id) throw new DeliveryError('salesforce action (log the call): the answer gives no task id');
      return result(id);
    },
  };
}
