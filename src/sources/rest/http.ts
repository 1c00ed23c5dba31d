import { STATUS_CODES } from 'node:http';
import type { Auth } from './auth.js';

/** `HTTP 503 Service Unavailable`: the standard reason only, never what the server wrote. */
export function httpStatus(status: number): string {
  const reason = STATUS_CODES[status];
  return reason ? `HTTP ${status} ${reason}` : `HTTP ${status}`;
}

/** A request that failed; the message names the operation and the status, never a header or body. */
export class RestRequestError extends Error {
  readonly status: number | undefined;

  constructor(message: string, status?: number) {
    super(message);
    this.name = 'RestRequestError';
    this.status = status;
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
}

const MAX_REDIRECTS = 5;

/**
 * Sends requests with the source's auth, each within its timeout and the caller's signal.
 * A 401 lets the auth renew its token and the request is sent once more. Redirects are followed
 * only on the same origin, so credentials never go to another host.
 */
export function createHttpClient(options: HttpClientOptions) {
  async function send(request: HttpRequest, signal: AbortSignal, accept404: boolean): Promise<HttpResponse> {
    let retried = false;
    for (;;) {
      signal.throwIfAborted();
      const authHeaders = await options.auth.headers(signal);
      const headers: Record<string, string> = {
        accept: 'application/json',
        ...lower(options.headers),
        ...lower(request.headers),
        ...authHeaders,
      };
      if (request.body !== undefined) headers['content-type'] ??= 'application/json';
      const attempt = scope(signal, options.timeoutMs);
      try {
        const response = await fetchFollowing(request, headers, attempt.signal);
        if (response.status === 401 && !retried && options.auth.rejected(authHeaders)) {
          retried = true;
          await discard(response);
          continue;
        }
        const url = new URL(response.url || request.url);
        if (response.status === 404 && accept404) {
          await discard(response);
          return { status: 404, url, headers: response.headers, json: undefined };
        }
        if (!response.ok) {
          await discard(response);
          throw new RestRequestError(`${request.what}: ${httpStatus(response.status)}`, response.status);
        }
        const json = await readJson(response, request.what);
        return { status: response.status, url, headers: response.headers, json };
      } catch (error) {
        if (error instanceof RestRequestError) throw error;
        // Cancelled by the caller (lookup deadline, shutdown): its reason, as the core expects.
        if (signal.aborted) throw signal.reason;
        if (attempt.timedOut())
          throw new RestRequestError(`${request.what}: no answer within ${options.timeoutMs} ms`);
        const code = (error as { cause?: { code?: unknown } }).cause?.code;
        throw new RestRequestError(
          `${request.what}: connection failed${typeof code === 'string' ? ` (${code})` : ''}`,
        );
      } finally {
        attempt.dispose();
      }
    }
  }

  async function fetchFollowing(
    request: HttpRequest,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Response> {
    let { url, method, body } = request;
    for (let hop = 0; ; hop++) {
      const sent = { ...headers };
      if (body === undefined) delete sent['content-type'];
      const response = await fetch(url, {
        method,
        headers: sent,
        ...(body !== undefined && { body }),
        redirect: 'manual',
        signal,
      });
      if (response.status < 300 || response.status >= 400 || response.status === 304) return response;
      const location = response.headers.get('location');
      await discard(response);
      if (!location)
        throw new RestRequestError(`${request.what}: ${httpStatus(response.status)} without Location`);
      const next = new URL(location, url);
      if (next.origin !== url.origin) {
        throw new RestRequestError(
          `${request.what}: redirected to ${next.origin}, another origin; not followed (credentials stay with ${url.origin})`,
          response.status,
        );
      }
      if (hop + 1 >= MAX_REDIRECTS) throw new RestRequestError(`${request.what}: too many redirects`);
      if (response.status !== 307 && response.status !== 308) {
        method = 'GET';
        body = undefined;
      }
      url = next;
    }
  }

  return { send };
}

/**
 * The signal of one request: aborted by the caller's signal or after `timeoutMs` (body included).
 * Disposed after the request, so a long-lived caller signal (a sync's) does not collect listeners.
 */
function scope(parent: AbortSignal, timeoutMs: number) {
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose() {
      clearTimeout(timer);
      parent.removeEventListener('abort', onAbort);
    },
  };
}

async function readJson(response: Response, what: string): Promise<unknown> {
  const text = await response.text();
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

function lower(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

async function discard(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => {});
}

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
