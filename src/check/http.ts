/**
 * One HTTP exchange with the service under test, bounded in time: a service that never answers
 * becomes an `error: 'timeout'` result, never a hanging checker.
 */

export type Fetch = typeof fetch;

export interface Exchange {
  /** Absent when no answer came (see `error`). */
  readonly status?: number;
  readonly contentType: string;
  readonly location?: string;
  /** Seconds (or a date) from a 429's Retry-After. */
  readonly retryAfter?: string;
  readonly text: string;
  /** The parsed body, when it is JSON. */
  readonly json?: unknown;
  readonly isJson: boolean;
  readonly ms: number;
  readonly error?: 'timeout' | 'network';
  /** Why no answer came, for the report. */
  readonly reason?: string;
}

export interface Target {
  /** The service's root, without a trailing slash. */
  readonly root: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly fetch: Fetch;
}

export interface Send {
  readonly method?: 'GET' | 'POST';
  /** Appended to the root: `/Lookup`, `/CallFlow`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string>>;
  /** Headers to send instead of the target's (auth checks send none or wrong ones). */
  readonly headers?: Readonly<Record<string, string>>;
  /** A JSON value, or raw text sent as is. */
  readonly body?: unknown;
  readonly raw?: string;
  /** `null` sends no Content-Type at all; default `application/json` when there is a body. */
  readonly contentType?: string | null;
}

export const USER_AGENT = 'callcard-check';

export async function send(target: Target, request: Send): Promise<Exchange> {
  const url = new URL(target.root + request.path);
  for (const [name, value] of Object.entries(request.query ?? {})) url.searchParams.set(name, value);
  const headers: Record<string, string> = {
    'user-agent': USER_AGENT,
    accept: 'application/json',
    ...(request.headers ?? target.headers),
  };
  const text = request.raw ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
  let body: string | Uint8Array<ArrayBuffer> | undefined;
  if (text !== undefined) {
    const type = request.contentType === undefined ? 'application/json' : request.contentType;
    // fetch labels a string body text/plain; bytes go without any Content-Type.
    if (type === null) body = new TextEncoder().encode(text);
    else {
      headers['content-type'] = type;
      body = text;
    }
  }
  const started = performance.now();
  try {
    const response = await target.fetch(url, {
      method: request.method ?? 'POST',
      headers,
      ...(body !== undefined && { body }),
      // The CONNECTOR is not known to follow redirects; a redirect is reported, not followed.
      redirect: 'manual',
      signal: AbortSignal.timeout(target.timeoutMs),
    });
    const answer = await response.text();
    const ms = performance.now() - started;
    const contentType = response.headers.get('content-type') ?? '';
    const location = response.headers.get('location') ?? undefined;
    const retryAfter = response.headers.get('retry-after') ?? undefined;
    let json: unknown;
    let isJson = false;
    if (answer.trim() !== '') {
      try {
        json = JSON.parse(answer);
        isJson = true;
      } catch {}
    }
    return {
      status: response.status,
      contentType,
      ...(location !== undefined && { location }),
      ...(retryAfter !== undefined && { retryAfter }),
      text: answer,
      ...(isJson && { json }),
      isJson,
      ms,
    };
  } catch (error) {
    const ms = performance.now() - started;
    const timeout = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
    return {
      contentType: '',
      text: '',
      isJson: false,
      ms,
      error: timeout ? 'timeout' : 'network',
      reason: timeout ? `no answer within ${target.timeoutMs} ms` : networkReason(error),
    };
  }
}

function networkReason(error: unknown): string {
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return error instanceof Error ? (cause?.message ?? error.message) : String(error);
}

/** The start of a body for a report line: one line, printable, short. */
export function excerpt(text: string, max = 120): string {
  const flat = text.replace(/\p{Cc}+/gu, ' ').trim();
  if (flat === '') return '(empty body)';
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** "401", "no answer within 5000 ms", "ECONNREFUSED": what came back, in a few words. */
export function outcomeOf(exchange: Exchange): string {
  return exchange.status === undefined ? (exchange.reason ?? 'no answer') : String(exchange.status);
}

/** Replaces every secret (header values) in a text by `***`. */
export function hider(secrets: readonly string[]): (text: string) => string {
  // Longest first, so that a value containing another is hidden whole.
  const values = secrets.filter((value) => value.length >= 4).sort((a, b) => b.length - a.length);
  return (text) => values.reduce((out, value) => out.split(value).join('***'), text);
}
