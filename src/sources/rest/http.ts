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
      const authHeaders = await options.auth.headers(signal);
      const headers = { accept: 'application/json', ...lower(options.headers), ...lower(request.headers), ...authHeaders };
      if (request.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
      const response = await fetchFollowing(request, headers, signal);
      if (response.status === 401 && !retried && options.auth.rejected(authHeaders)) {
        retried = true;
        await discard(response);
        continue;
      }
      if (response.status === 404 && accept404) {
        await discard(response);
        return { status: 404, url: new URL(response.url || request.url), headers: response.headers, json: undefined };
      }
      if (!response.ok) {
        await discard(response);
        throw new RestRequestError(`${request.what}: ${httpStatus(response.status)}`, response.status);
      }
      return {
        status: response.status,
        url: new URL(response.url || request.url),
        headers: response.headers,
        json: await readJson(response, request, signal),
      };
    }
  }

  async function fetchFollowing(
    request: HttpRequest,
    headers: Record<string, string>,
    signal: AbortSignal,
  ): Promise<Response> {
    let { url, method, body } = request;
    for (let hop = 0; ; hop++) {
      const response = await fetchOnce(url, { method, headers, body, signal }, request.what);
      if (response.status < 300 || response.status >= 400 || response.status === 304) return response;
      const location = response.headers.get('location');
      await discard(response);
      if (!location) throw new RestRequestError(`${request.what}: ${httpStatus(response.status)} without Location`);
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

  async function fetchOnce(
    url: URL,
    init: { method: string; headers: Record<string, string>; body: string | undefined; signal: AbortSignal },
    what: string,
  ): Promise<Response> {
    init.signal.throwIfAborted();
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = AbortSignal.any([init.signal, timeout]);
    const headers = { ...init.headers };
    if (init.body === undefined) delete headers['content-type'];
    try {
      return await fetch(url, {
        method: init.method,
        headers,
        ...(init.body !== undefined && { body: init.body }),
        redirect: 'manual',
        signal,
      });
    } catch (error) {
      throw failure(error, what, init.signal, timeout);
    }
  }

  async function readJson(response: Response, request: HttpRequest, signal: AbortSignal): Promise<unknown> {
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw failure(error, request.what, signal, undefined);
    }
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      const type = response.headers.get('content-type')?.split(';')[0]?.trim().slice(0, 40) || 'no content type';
      throw new RestRequestError(`${request.what}: the answer is not JSON (${type})`, response.status);
    }
  }

  function failure(error: unknown, what: string, caller: AbortSignal, timeout: AbortSignal | undefined): unknown {
    // Cancelled by the caller (lookup deadline, shutdown): its reason, as the core expects.
    if (caller.aborted) return caller.reason;
    if (timeout?.aborted || (error as Error).name === 'TimeoutError') {
      return new RestRequestError(`${what}: no answer within ${options.timeoutMs} ms`);
    }
    const code = (error as { cause?: { code?: unknown } }).cause?.code;
    return new RestRequestError(
      `${what}: cannot reach the server${typeof code === 'string' ? ` (${code})` : ''}`,
    );
  }

  return { send };
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
