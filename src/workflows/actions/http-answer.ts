import { type Auth, TokenRequestError } from '../../sources/rest/auth.js';
import { httpStatus } from '../../sources/rest/http.js';
import { link } from '../../sources/rest/mapping.js';
import { first, type Path, parsePath } from '../../sources/rest/path.js';
import type { DeliveryResult } from '../outbox/types.js';
import { DeliveryError } from './types.js';

/**
 * What HTTP actions (webhook, rest) make of a target's answer: which failures are worth another
 * attempt, and where the answer says what it created. Messages name the status, never a body.
 */

/** Longest wait a target may ask for with Retry-After; beyond it, the outbox's own backoff rules. */
const MAX_RETRY_AFTER_MS = 6 * 3600_000;

/** Seconds or an HTTP date, as RFC 9110 allows. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined;
}

/** A timeout, too many requests or a server error: trying again may help. */
export function isRetryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * The failure of a non-2xx answer, with the target's Retry-After. A 4xx other than 408/429 is
 * permanent, except 401: credentials can be renewed (a token, a restart with a new secret).
 */
export function refusedBy(where: string, response: Response): DeliveryError {
  const { status } = response;
  const wait = retryAfterMs(response.headers.get('retry-after'));
  return new DeliveryError(`${where}: ${httpStatus(status)}`, {
    permanent: !isRetryable(status) && status !== 401,
    ...(wait !== undefined && { retryAfterMs: wait }),
  });
}

/** Header names in lower case, so that a configured one replaces callcard's own whatever its case. */
export function lowerCaseHeaders(
  headers: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}

/**
 * Sends a request of an HTTP action with the auth's headers (added to `headers`, which must be in
 * lower case). A 401 lets the auth drop the token it was sent with, and the request goes once more
 * with a new one. A token endpoint that refuses the client (400, 401, 403) fails the delivery for
 * good, with the endpoint's error code; a token request that got no answer is tried again later.
 * Redirects are not followed (credentials are not sent on to another address): the answer is returned.
 */
export async function sendAuthorized(
  auth: Auth,
  url: URL,
  init: {
    readonly method: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: string;
  },
  signal: AbortSignal,
  where: string,
): Promise<Response> {
  for (let renewed = false; ; renewed = true) {
    let authHeaders: Record<string, string>;
    try {
      authHeaders = await auth.headers(signal);
    } catch (error) {
      if (signal.aborted) throw error;
      // Its message carries no secret: the endpoint's status and RFC 6749 error code at most.
      throw new DeliveryError(`${where}: ${(error as Error).message}`, {
        permanent: error instanceof TokenRequestError && error.refused,
      });
    }
    const response = await fetch(url, {
      method: init.method,
      headers: { ...init.headers, ...authHeaders },
      body: init.body,
      redirect: 'manual',
      signal,
    });
    if (response.status === 401 && !renewed && auth.rejected(authHeaders)) {
      await response.body?.cancel().catch(() => {});
      continue;
    }
    return response;
  }
}

/** The failure of a non-2xx answer: a redirect is permanent with its reason; others as `refusedBy`. */
export async function failureOf(where: string, response: Response): Promise<DeliveryError> {
  await response.body?.cancel().catch(() => {});
  if (response.status >= 300 && response.status < 400) {
    return new DeliveryError(
      `${where}: ${httpStatus(response.status)}; redirects are not followed, write the address it leads to`,
      { permanent: true },
    );
  }
  return refusedBy(where, response);
}

/** A request that got no answer (refused, reset, timed out): always worth another attempt. */
export function unreachable(
  where: string,
  error: unknown,
  how: { readonly timedOut: boolean; readonly timeoutMs: number; readonly cancelled?: boolean },
): DeliveryError {
  if (how.timedOut) return new DeliveryError(`${where}: no answer within ${how.timeoutMs} ms`);
  // The outbox gave up on the attempt (its own time limit, or callcard stopping).
  if (how.cancelled) return new DeliveryError(`${where}: cancelled`);
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return new DeliveryError(`${where}: connection failed${typeof code === 'string' ? ` (${code})` : ''}`);
}

/** The answer's JSON; `undefined` when it is empty, not JSON, or cut off. */
export async function readJson(response: Response): Promise<unknown> {
  try {
    const text = await response.text();
    return text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Reads the record a target made from its answer: `id` is a path; `url` a path, or a URL template
 * whose `{path}`s are read in the answer (`{id}`: the id found). A url that is not http(s) is left out.
 */
export function resultMapper(config: {
  readonly id?: string | undefined;
  readonly url?: string | undefined;
}): (body: unknown) => DeliveryResult {
  const idPath: Path | undefined = config.id === undefined ? undefined : parsePath(config.id);
  const urlOf = link(config.url);
  return (body) => {
    if (body === undefined || body === null) return {};
    const found = idPath ? first(body, idPath) : undefined;
    const id = typeof found === 'string' || typeof found === 'number' ? String(found) : undefined;
    const url = urlOf?.(body, id);
    return {
      ...(id !== undefined && id !== '' && { id }),
      ...(url !== undefined && /^https?:\/\//i.test(url) && { url }),
    };
  };
}
