import { STATUS_CODES } from 'node:http';
import { Agent, request as undiciRequest } from 'undici';
import { timeoutScope } from '../util/abort.js';

/**
 * The one outbound HTTP path of callcard (rest sources, rest and webhook actions): fetch (undici)
 * with the caller's signal, one redirect policy, one credential renewal on 401, and answers read
 * within a size limit. Messages name the status and the operation, never a header or a body.
 */

/** `HTTP 503 Service Unavailable`: the standard reason only, never what the server wrote. */
export function httpStatus(status: number): string {
  const reason = STATUS_CODES[status];
  return reason ? `HTTP ${status} ${reason}` : `HTTP ${status}`;
}

/** How requests are authenticated. Secrets stay in here: no message or log line carries them. */
export interface Auth {
  /** Headers to add to a request. */
  headers(signal: AbortSignal): Promise<Record<string, string>>;
  /**
   * The server answered 401 to a request sent with `used` headers: forget the token if it can be
   * renewed. True when asking again may help.
   */
  rejected(used: Record<string, string>): boolean;
}

/**
 * - `error`: a redirect is not followed; it ends the request with a `RedirectRefused` (a delivery
 *   that was not made: the configured address is wrong).
 * - `follow-same-origin`: followed on the same origin (so credentials never go to another host),
 *   at most `MAX_REDIRECTS` hops; to another origin it is a `RedirectRefused`.
 * - `follow`: followed to any origin, at most `MAX_REDIRECTS` hops: only for requests that carry
 *   no credentials (a public file's download link that leads to a storage host).
 */
export type RedirectPolicy = 'error' | 'follow-same-origin' | 'follow';

const MAX_REDIRECTS = 5;

/** A redirect the policy does not follow; `status` is the redirect's. */
export class RedirectRefused extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** The origin it leads to, when it leads to another one. */
    readonly to?: string,
  ) {
    super(message);
    this.name = 'RedirectRefused';
  }
}

/** The auth of requests that send no credentials, or carry fixed headers of their own. */
export const NO_AUTH: Auth = { headers: async () => ({}), rejected: () => false };

export interface OutboundRequest {
  readonly method: string;
  readonly url: URL;
  /** In lower case; the auth's headers are added to them. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
  /**
   * Sent by undici's `request` on callcard's pool of kept-alive connections instead of by `fetch`:
   * for requests sent again and again to one target (the workflow actions' deliveries), it takes
   * half the CPU. The answer is a `Response` all the same; it is not decompressed (no
   * Accept-Encoding is sent).
   */
  readonly pooled?: boolean;
}

/** The pooled requests' connections, kept alive between deliveries (per origin, as fetch's are). */
const pool = new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000 });

/** `fetch` with `redirect: 'manual'`, by undici's `request` on the pool: a redirect is answered as it is. */
async function pooledFetch(
  url: URL,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
): Promise<Response> {
  let answer: Awaited<ReturnType<typeof undiciRequest>>;
  try {
    answer = await undiciRequest(url, { ...init, dispatcher: pool });
  } catch (error) {
    if (init.signal.aborted) throw init.signal.reason;
    // As fetch fails: a TypeError whose cause is the network error (its code: ECONNREFUSED, ...).
    throw new TypeError('fetch failed', { cause: error });
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (Array.isArray(value)) for (const each of value) headers.append(name, each);
    else if (value !== undefined) headers.append(name, value);
  }
  // A status without a body (204, 205, 304) takes none.
  const empty = [204, 205, 304].includes(answer.statusCode) || init.method === 'HEAD';
  if (empty) answer.body.dump().catch(() => {});
  return new Response(empty ? null : (answer.body as unknown as ReadableStream<Uint8Array>), {
    status: answer.statusCode,
    headers,
  });
}

/**
 * Sends a request with the auth's headers. A 401 lets the auth drop the credentials it was sent with,
 * and the request goes once more with new ones (once per call). Errors of the auth (a token request
 * that failed) and of fetch are thrown as they are, for the caller to classify.
 */
export async function sendWithAuth(
  auth: Auth,
  request: OutboundRequest,
  signal: AbortSignal,
  redirect: RedirectPolicy,
): Promise<Response> {
  for (let renewed = false; ; renewed = true) {
    signal.throwIfAborted();
    const authHeaders = await auth.headers(signal);
    const response = await fetchFollowing(request, { ...request.headers, ...authHeaders }, signal, redirect);
    if (response.status === 401 && !renewed && auth.rejected(authHeaders)) {
      await discard(response);
      continue;
    }
    return response;
  }
}

async function fetchFollowing(
  request: OutboundRequest,
  headers: Record<string, string>,
  signal: AbortSignal,
  policy: RedirectPolicy,
): Promise<Response> {
  let { url, method, body } = request;
  for (let hop = 0; ; hop++) {
    const sent = { ...headers };
    if (body === undefined) delete sent['content-type'];
    const response = request.pooled
      ? await pooledFetch(url, { method, headers: sent, ...(body !== undefined && { body }), signal })
      : await fetch(url, {
          method,
          headers: sent,
          ...(body !== undefined && { body }),
          redirect: 'manual',
          signal,
        });
    if (response.status < 300 || response.status >= 400 || response.status === 304) return response;
    const location = response.headers.get('location');
    await discard(response);
    const status = httpStatus(response.status);
    if (policy === 'error')
      throw new RedirectRefused(`${status}; redirects are not followed`, response.status);
    if (!location) throw new RedirectRefused(`${status} without Location`, response.status);
    const next = new URL(location, url);
    if (next.origin !== url.origin && policy !== 'follow') {
      throw new RedirectRefused(
        `redirected to ${next.origin}, another origin; not followed (credentials stay with ${url.origin})`,
        response.status,
        next.origin,
      );
    }
    if (hop + 1 >= MAX_REDIRECTS) throw new RedirectRefused('too many redirects', response.status);
    if (response.status !== 307 && response.status !== 308) {
      method = 'GET';
      body = undefined;
    }
    url = next;
  }
}

/** Longest wait a target may ask for with Retry-After; beyond it, the caller's own backoff rules. */
const MAX_RETRY_AFTER_MS = 6 * 3600_000;

/** Retry-After in milliseconds: seconds or an HTTP date, as RFC 9110 allows; capped at 6 hours. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - now;
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined;
}

/** An answer larger than the limit set for it. */
export class AnswerTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`the answer is larger than ${Math.round(maxBytes / 1024 / 1024)} MB`);
    this.name = 'AnswerTooLarge';
  }
}

/** Largest answer read into memory by default: far beyond a page of contacts or a CRM's reply. */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** The answer's text, read at most `maxBytes` (a larger one is cancelled, not read to its end). */
export async function readText(response: Response, maxBytes = MAX_ANSWER_BYTES): Promise<string> {
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  if (length > maxBytes) {
    await discard(response);
    throw new AnswerTooLarge(maxBytes);
  }
  if (!response.body) return '';
  const decoder = new TextDecoder();
  let text = '';
  let total = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      await response.body.cancel().catch(() => {});
      throw new AnswerTooLarge(maxBytes);
    }
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}

/** Drops an answer's body unread, so its connection goes back to the pool. */
export async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {});
}

export function lowerCaseHeaders(
  headers: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name.toLowerCase()] = value;
  return out;
}

// ---- A JSON API client: the rest source's requests ----------------------------------------------

/** A request that failed; the message names the operation and the status, never a header or body. */
export class RestRequestError extends Error {
  readonly status: number | undefined;
  /** The server's Retry-After, when it gave one (a 429 or 503). */
  readonly retryAfterMs: number | undefined;
  /** The vendor's error code read from the answer (`errorCode` of the client), when it gave one. */
  readonly code: string | undefined;

  constructor(message: string, status?: number, retryAfterMs?: number, code?: string) {
    super(message);
    this.name = 'RestRequestError';
    this.status = status;
    this.retryAfterMs = retryAfterMs;
    this.code = code;
  }
}

export interface HttpRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Names the request in errors: the operation and the URL as configured, e.g. `search (POST /contacts/search)`. */
  readonly what: string;
}

export interface HttpResponse {
  readonly status: number;
  readonly url: URL;
  readonly headers: Headers;
  /** The parsed body; `undefined` for an empty one. */
  readonly json: unknown;
}

export interface HttpClientOptions {
  readonly auth: Auth;
  /** Sent with every request, before the request's own headers. */
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly redirect?: RedirectPolicy;
  readonly maxBytes?: number;
  /**
   * A 429 (or a 503 with Retry-After) is waited out and the request sent again, at most `tries`
   * more times, when the wait asked for (Retry-After, else 1 s, 2 s, 4 s...) is at most `maxWaitMs`;
   * otherwise it fails as any other status. Without it, every 429 fails at once.
   */
  readonly rateLimit?: { readonly tries: number; readonly maxWaitMs: number };
  /**
   * Reads the vendor's error code from a failed answer's JSON body (e.g. `EXPIRED_SYNC_TOKEN`), for
   * the caller to act on; only a short word is kept, never in the message. Without it the body is
   * not read.
   */
  readonly errorCode?: (body: unknown) => string | undefined;
}

/** Longest error body read for its code. */
const ERROR_BODY_BYTES = 64 * 1024;
const ERROR_CODE = /^[\w.-]{1,80}$/;

async function errorCodeOf(
  response: Response,
  read: ((body: unknown) => string | undefined) | undefined,
): Promise<string | undefined> {
  if (!read) {
    await discard(response);
    return undefined;
  }
  try {
    const code = read(JSON.parse(await readText(response, ERROR_BODY_BYTES)));
    return code !== undefined && ERROR_CODE.test(code) ? code : undefined;
  } catch {
    await discard(response).catch(() => undefined);
    return undefined;
  }
}

/** Waits `ms`, or rejects with the signal's reason once it aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const done = () => {
      signal.removeEventListener('abort', stop);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', stop, { once: true });
  });
}

/**
 * Sends JSON requests with the auth, each within its timeout (answer included) and the caller's
 * signal, by `sendWithAuth`: redirects followed on the same origin unless told otherwise.
 */
export function createHttpClient(options: HttpClientOptions) {
  const redirect = options.redirect ?? 'follow-same-origin';
  const limit = options.rateLimit;

  async function send(request: HttpRequest, signal: AbortSignal, accept404: boolean): Promise<HttpResponse> {
    for (let tried = 0; ; tried++) {
      try {
        return await sendOnce(request, signal, accept404);
      } catch (error) {
        if (!limit || tried >= limit.tries || !(error instanceof RestRequestError)) throw error;
        const limited = error.status === 429 || (error.status === 503 && error.retryAfterMs !== undefined);
        const wait = error.retryAfterMs ?? 1000 * 2 ** tried;
        if (!limited || wait > limit.maxWaitMs) throw error;
        await pause(wait, signal);
      }
    }
  }

  async function sendOnce(
    request: HttpRequest,
    signal: AbortSignal,
    accept404: boolean,
  ): Promise<HttpResponse> {
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...lowerCaseHeaders(options.headers),
      ...lowerCaseHeaders(request.headers),
    };
    if (request.body !== undefined) headers['content-type'] ??= 'application/json';
    // The timeout starts once the credentials are there: a token request has its own.
    // Each try (the one after a 401 too) has the whole timeout, started once the credentials are
    // there: a token request has its own, and its failure is thrown as it is.
    const attempt = timeoutScope(signal, options.timeoutMs);
    let authFailure: unknown;
    const auth: Auth = {
      headers: async () => {
        try {
          const found = await options.auth.headers(signal);
          attempt.arm();
          return found;
        } catch (error) {
          authFailure = error;
          throw error;
        }
      },
      rejected: (used) => options.auth.rejected(used),
    };
    try {
      let response: Response;
      try {
        response = await sendWithAuth(
          auth,
          { method: request.method, url: request.url, headers, body: request.body },
          attempt.signal,
          redirect,
        );
      } catch (error) {
        if (error instanceof RedirectRefused)
          throw new RestRequestError(
            `${request.what}: ${error.message}`,
            error.to ? error.status : undefined,
          );
        throw error;
      }
      const url = new URL(response.url || request.url);
      if (response.status === 404 && accept404) {
        await discard(response);
        return { status: 404, url, headers: response.headers, json: undefined };
      }
      if (!response.ok) {
        const code = await errorCodeOf(response, options.errorCode);
        const wait = retryAfterMs(response.headers.get('retry-after'));
        const after = wait === undefined ? '' : ` (retry after ${Math.ceil(wait / 1000)} s)`;
        throw new RestRequestError(
          `${request.what}: ${httpStatus(response.status)}${after}`,
          response.status,
          wait,
          code,
        );
      }
      const json = await readJson(response, request.what, options.maxBytes);
      return { status: response.status, url, headers: response.headers, json };
    } catch (error) {
      if (error instanceof RestRequestError) throw error;
      // Cancelled by the caller (lookup deadline, shutdown): its reason, as the core expects.
      if (signal.aborted) throw signal.reason;
      if (attempt.timedOut())
        throw new RestRequestError(`${request.what}: no answer within ${options.timeoutMs} ms`);
      if (error instanceof AnswerTooLarge) throw new RestRequestError(`${request.what}: ${error.message}`);
      if (error === authFailure) throw error;
      const code = (error as { cause?: { code?: unknown } }).cause?.code;
      throw new RestRequestError(
        `${request.what}: connection failed${typeof code === 'string' ? ` (${code})` : ''}`,
      );
    } finally {
      attempt.dispose();
    }
  }

  return { send };
}

async function readJson(response: Response, what: string, maxBytes?: number): Promise<unknown> {
  const text = await readText(response, maxBytes);
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    const type =
      response.headers.get('content-type')?.split(';')[0]?.trim().slice(0, 40) || 'no content type';
    throw new RestRequestError(`${what}: the answer is not JSON (${type})`, response.status);
  }
}

export type HttpClient = ReturnType<typeof createHttpClient>;

/** The `rel="next"` target of an RFC 8288 `Link` header, resolved against the request's URL. */
export function nextLink(header: string | null, base: URL): URL | undefined {
  if (!header) return undefined;
  for (const match of header.matchAll(/<([^>]*)>([^<]*)/g)) {
    const params = match[2] ?? '';
    const rel = /(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params);
    const values = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
    if (values.includes('next')) {
      try {
        return new URL(match[1]!.trim(), base);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
