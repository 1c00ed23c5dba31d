import { TokenRequestError } from '../../net/auth.js';
import {
  type Auth,
  discard,
  httpStatus,
  MAX_ANSWER_BYTES,
  RedirectRefused,
  readText,
  retryAfterMs,
  sendWithAuth,
} from '../../net/http-client.js';
import { link } from '../../net/request-template.js';
import type { DeliveryResult } from '../../store/outbox-types.js';
import { first, type Path, parsePath } from '../../util/json-path.js';
import { DeliveryError } from './types.js';

/**
 * What HTTP actions (webhook, rest) make of a target's answer: which failures are worth another
 * attempt, and where the answer says what it created. Messages name the status, never a body.
 */

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

/**
 * Sends a request of an HTTP action by the shared client (`net/http-client.ts`): the auth's headers
 * added to `headers` (which must be in lower case), a 401 renewing the credentials once. A token
 * endpoint that refuses the client (400, 401, 403) fails the delivery for good, with the endpoint's
 * error code; a token request that got no answer is tried again later. Redirects are not followed
 * (a delivery is not sent on to another address): a permanent failure with its reason.
 */
export async function sendAuthorized(
  auth: Auth,
  url: URL,
  init: {
    readonly method: string;
    readonly headers: Readonly<Record<string, string>>;
    /** None for a GET. */
    readonly body?: string | undefined;
  },
  signal: AbortSignal,
  where: string,
): Promise<Response> {
  let authFailed = false;
  const watched: Auth = {
    headers: (own) =>
      auth.headers(own).catch((error: unknown) => {
        authFailed = true;
        throw error;
      }),
    rejected: (used) => auth.rejected(used),
  };
  try {
    return await sendWithAuth(watched, { ...init, url, pooled: true }, signal, 'error');
  } catch (error) {
    if (error instanceof RedirectRefused) throw redirected(where, error.status);
    if (!authFailed || signal.aborted) throw error;
    // Its message carries no secret: the endpoint's status and RFC 6749 error code at most.
    throw new DeliveryError(`${where}: ${(error as Error).message}`, {
      permanent: error instanceof TokenRequestError && error.refused,
    });
  }
}

function redirected(where: string, status: number): DeliveryError {
  return new DeliveryError(
    `${where}: ${httpStatus(status)}; redirects are not followed, write the address it leads to`,
    { permanent: true },
  );
}

/** The failure of a non-2xx answer: a redirect is permanent with its reason; others as `refusedBy`. */
export async function failureOf(where: string, response: Response): Promise<DeliveryError> {
  await discard(response);
  // A 304 (the only 3xx the client hands back) was not asked for: the same as a redirect.
  if (response.status >= 300 && response.status < 400) return redirected(where, response.status);
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
    const text = await readText(response, MAX_ANSWER_BYTES);
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
