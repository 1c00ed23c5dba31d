import { z } from 'zod';
import { createAuth } from '../../sources/rest/auth.js';
import { httpStatus } from '../../sources/rest/http.js';
import { first, parsePath } from '../../sources/rest/path.js';
import { authSchema } from '../../sources/rest/schema.js';
import { type Action, DeliveryError } from './types.js';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Settings every action has: how often a delivery is tried before it is dead. */
export const retrySettings = {
  /** Attempts before the delivery is dead (visible in `callcard outbox`, and retried from there). */
  maxAttempts: z.coerce.number().int().min(1).max(1000).default(12),
};

/** POSTs the whole call and the matched contact as JSON, e.g. to an automation tool. */
export const webhookActionSchema = z
  .object({
    type: z.literal('webhook'),
    url: z.url({ protocol: /^https?$/ }),
    headers: z.record(z.string().regex(HEADER_NAME, 'must be an HTTP header name'), z.string()).default({}),
    auth: authSchema,
    /** Where the target's answer says the id and the URL of the record it created (dotted paths). */
    response: z.object({ id: z.string().optional(), url: z.string().optional() }).strict().default({}),
    timeoutMs: z.coerce.number().int().min(100).max(120_000).default(10_000),
    ...retrySettings,
  })
  .strict();

type WebhookConfig = z.output<typeof webhookActionSchema>;

/** Longest wait a target may ask for with Retry-After; beyond it, the outbox's own backoff rules. */
const MAX_RETRY_AFTER_MS = 6 * 3600_000;

/** Seconds or an HTTP date, as RFC 9110 allows. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined;
}

/**
 * POSTs the call (all its fields, the matched contact) as JSON. The delivery id goes in the
 * `Idempotency-Key` header: a target that keeps it makes a retried delivery one record.
 */
export function createWebhookAction(config: WebhookConfig, context: { baseDir: string }): Action {
  const auth = createAuth(
    config.auth,
    { baseDir: context.baseDir, env: process.env },
    { timeoutMs: config.timeoutMs },
  );
  const idPath = config.response.id ? parsePath(config.response.id) : undefined;
  const urlPath = config.response.url ? parsePath(config.response.url) : undefined;
  const target = new URL(config.url);
  const where = `webhook ${target.host}`;

  return {
    type: 'webhook',
    async run(payload, { signal, deliveryId }) {
      const timeout = AbortSignal.timeout(config.timeoutMs);
      const both = AbortSignal.any([signal, timeout]);
      let response: Response;
      try {
        response = await fetch(target, {
          method: 'POST',
          headers: {
            ...config.headers,
            ...(await auth.headers(both)),
            'content-type': 'application/json',
            'idempotency-key': deliveryId,
          },
          body: JSON.stringify(payload),
          signal: both,
          redirect: 'error',
        });
      } catch (error) {
        const reason = timeout.aborted ? `no answer within ${config.timeoutMs} ms` : (error as Error).message;
        throw new DeliveryError(`${where}: ${reason}`);
      }
      if (!response.ok) {
        await response.body?.cancel();
        const status = response.status;
        const retryable = status === 408 || status === 429 || status >= 500;
        if (status === 401) auth.rejected({});
        const wait = retryAfterMs(response.headers.get('retry-after'));
        throw new DeliveryError(`${where}: ${httpStatus(status)}`, {
          permanent: !retryable && status !== 401,
          ...(wait !== undefined && { retryAfterMs: wait }),
        });
      }
      const text = await response.text();
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        body = undefined;
      }
      const id = idPath && body !== undefined ? first(body, idPath) : undefined;
      const url = urlPath && body !== undefined ? first(body, urlPath) : undefined;
      return {
        ...(id !== undefined && id !== null && { id: String(id) }),
        ...(typeof url === 'string' && /^https?:\/\//.test(url) && { url }),
      };
    },
  };
}
