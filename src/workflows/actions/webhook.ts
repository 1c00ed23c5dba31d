import * as z from 'zod';
import { createAuth } from '../../net/auth.js';
import { authSchema } from '../../net/auth-schema.js';
import { headerName } from '../../net/headers.js';
import { lowerCaseHeaders } from '../../net/http-client.js';
import { timeoutScope } from '../../util/abort.js';
import { failureOf, readJson, resultMapper, sendAuthorized, unreachable } from './http-answer.js';
import { type Action, type ActionDeps, DeliveryError, retrySettings } from './types.js';

/** POSTs the whole call and the matched contact as JSON, e.g. to an automation tool. */
export const webhookActionSchema = z
  .object({
    type: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/ }),
    headers: z.record(headerName, z.string()).default({}),
    auth: authSchema,
    /** Where the target's answer says the id and the URL of the record it created (dotted paths). */
    response: z.object({ id: z.string().optional(), url: z.string().optional() }).strict().default({}),
    timeoutMs: z.coerce.number().int().min(100).max(120_000).default(10_000),
    ...retrySettings,
  })
  .strict();

type WebhookConfig = z.output<typeof webhookActionSchema>;

/**
 * POSTs the call (all its fields, the matched contact) as JSON. The delivery id goes in the
 * `Idempotency-Key` header: a target that keeps it makes a retried delivery one record. A 401
 * renews an OAuth2 token once within the attempt; a redirect is not followed. A call that changes
 * after its delivery was made is sent again as an update: its own delivery id (and key), and
 * `update: {of: <first delivery id>, id: <the record the target answered>}` in the body.
 */
export function createWebhookAction(config: WebhookConfig, context: ActionDeps): Action {
  const auth = createAuth(
    config.auth,
    { baseDir: context.baseDir, env: process.env },
    { timeoutMs: config.timeoutMs, ...(context.connections && { connections: context.connections }) },
  );
  const mapResult = resultMapper(config.response);
  const target = new URL(config.url);
  const where = `webhook ${target.host}`;
  // Configured headers replace callcard's own of the same name, whatever its case.
  const fixedHeaders = { 'content-type': 'application/json', ...lowerCaseHeaders(config.headers) };

  return {
    type: 'webhook',
    updates: true,
    async run(payload, { signal, deliveryId, update }) {
      // One controller and one timer (AbortSignal.any with AbortSignal.timeout costs as much as the request).
      const scope = timeoutScope(signal, config.timeoutMs);
      scope.arm();
      try {
        const response = await sendAuthorized(
          auth,
          target,
          {
            method: 'POST',
            headers: { ...fixedHeaders, 'idempotency-key': deliveryId },
            body: JSON.stringify(
              update
                ? { ...payload, update: { of: update.of, ...(update.id !== undefined && { id: update.id }) } }
                : payload,
            ),
          },
          scope.signal,
          where,
        );
        if (!response.ok) throw await failureOf(where, response);
        return mapResult(await readJson(response));
      } catch (error) {
        if (error instanceof DeliveryError) throw error;
        throw unreachable(where, error, {
          timedOut: scope.timedOut(),
          timeoutMs: config.timeoutMs,
          cancelled: signal.aborted,
        });
      } finally {
        scope.dispose();
      }
    },
  };
}
