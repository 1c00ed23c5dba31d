import { type DAVResponse, davRequest, propfind, serviceDiscovery } from 'tsdav';

const CARDDAV = 'urn:ietf:params:xml:ns:carddav';

/** The WebDAV properties asked for, as tsdav writes them (prefixes d: DAV, card: CardDAV, cs: CalendarServer). */
export type DavProps = Record<string, Record<string, never>>;

export interface DavOptions {
  /** Authorization and any other header sent with every request; never shown in messages. */
  readonly headers: Readonly<Record<string, string>>;
  /** Longest one request may take, its answer read in full. */
  readonly timeoutMs: number;
  readonly fetch: typeof fetch;
}

/** One resource of a 207 Multi-Status answer. */
export interface DavEntry {
  /** Absolute URL, resolved against the address that answered. */
  readonly url: string;
  readonly status: number;
  /** The properties the server gave (found ones only), named as tsdav names them: `getetag`, `addressData`... */
  readonly props: Readonly<Record<string, unknown>>;
}

/** A request the server answered with something other than a multi-status. */
export class DavError extends Error {
  constructor(
    message: string,
    /** The HTTP status, when the server answered at all. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'DavError';
  }
}

/** The URL as shown in messages and logs: no query string (it may carry a key). */
export function urlLabel(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}${parsed.search ? '?…' : ''}`;
}

/** The decoded path, without its trailing slash: how two hrefs of one resource compare. */
export function pathKey(url: string): string {
  const { pathname } = new URL(url);
  let path = pathname;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    // an undecodable path is compared as it is
  }
  return path.replace(/\/+$/, '');
}

export const sameResource = (a: string, b: string) =>
  new URL(a).origin === new URL(b).origin && pathKey(a) === pathKey(b);

/** A property's text: servers give some as text, tsdav turns numbers and booleans into values. */
export function propText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value && typeof value === 'object' && '_cdata' in value) return propText(value._cdata);
  return undefined;
}

/** The first href of a property such as current-user-principal. */
export function propHref(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || !('href' in value)) return undefined;
  const href = Array.isArray(value.href) ? value.href[0] : value.href;
  return propText(href)?.trim() || undefined;
}

const HINTS: Record<number, string> = {
  401: 'wrong user name or password, or the server wants another kind of auth',
  403: 'the user may not read it',
  404: 'no such collection',
  405: 'not a WebDAV collection',
};

/**
 * The few WebDAV/CardDAV requests the source needs, over tsdav: tsdav writes the XML and reads the
 * multi-status; this layer adds the auth, the timeout, the caller's signal, and errors a person can
 * act on (tsdav's higher-level helpers retry elsewhere or throw away the status, which hides a
 * wrong password behind "cannot find principalUrl").
 */
export function createDav(options: DavOptions) {
  /** Runs one request through tsdav, recording the HTTP answer it got. */
  async function send(
    method: string,
    url: string,
    signal: AbortSignal,
    call: (fetchOptions: RequestInit, recording: typeof fetch) => Promise<DAVResponse[]>,
  ): Promise<DavEntry[]> {
    signal.throwIfAborted();
    const timed = AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]);
    let answer: Response | undefined;
    const recording: typeof fetch = async (input, init) => {
      answer = await options.fetch(input, init);
      return answer;
    };
    let responses: DAVResponse[];
    try {
      responses = await call({ signal: timed, headers: { ...options.headers } }, recording);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (timed.aborted) {
        throw new DavError(`${method} ${urlLabel(url)}: no answer within ${options.timeoutMs / 1000} s`);
      }
      const cause = (error as { cause?: unknown }).cause;
      const why =
        cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
      throw new DavError(`${method} ${urlLabel(url)} failed: ${why.split('\n')[0]}`);
    }
    if (!answer) throw new DavError(`${method} ${urlLabel(url)}: no answer`);
    if (answer.status !== 207) {
      const hint =
        HINTS[answer.status] ?? (answer.ok ? 'not a WebDAV server: expected 207 Multi-Status' : undefined);
      const status = `HTTP ${answer.status} ${answer.statusText}`.trim();
      throw new DavError(`${method} ${urlLabel(url)}: ${status}${hint ? ` (${hint})` : ''}`, answer.status);
    }
    // tsdav answers a body it could not read as a multi-status with one entry holding the raw text.
    const raw: unknown = responses[0]?.raw;
    if (responses.length === 1 && responses[0]!.props === undefined && !(raw && typeof raw === 'object')) {
      throw new DavError(`${method} ${urlLabel(url)}: the answer is not a WebDAV multi-status`, 207);
    }
    const base = answer.url || url;
    return responses
      .filter((response) => response.props !== undefined && response.href !== undefined)
      .map((response) => ({
        url: new URL(String(response.href), base).href,
        status: response.status,
        props: response.props ?? {},
      }));
  }

  return {
    /** PROPFIND of some properties, on the resource itself (depth 0) or its members too (depth 1). */
    propfind(url: string, props: DavProps, depth: '0' | '1', signal: AbortSignal): Promise<DavEntry[]> {
      return send('PROPFIND', url, signal, (fetchOptions, recording) =>
        propfind({ url, props, depth, fetchOptions, fetch: recording }),
      );
    },

    /** The vCards at `paths` (hrefs of the address book `url`), with their ETags: RFC 6352 addressbook-multiget. */
    multiget(url: string, paths: readonly string[], signal: AbortSignal): Promise<DavEntry[]> {
      return send('REPORT', url, signal, (fetchOptions, recording) =>
        davRequest({
          url,
          init: {
            method: 'REPORT',
            namespace: 'card',
            headers: { depth: '1' },
            body: {
              'addressbook-multiget': {
                _attributes: { 'xmlns:d': 'DAV:', 'xmlns:card': CARDDAV },
                'd:prop': { 'd:getetag': {}, 'card:address-data': {} },
                'd:href': [...paths],
              },
            },
          },
          fetchOptions,
          fetch: recording,
        }),
      );
    },

    /**
     * Where the server's `/.well-known/carddav` points (RFC 6764), or undefined when it points
     * nowhere else. tsdav asks with PROPFIND, then GET, without following the redirect.
     */
    async wellKnown(url: string, signal: AbortSignal): Promise<string | undefined> {
      signal.throwIfAborted();
      const timed = AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs)]);
      const found = await serviceDiscovery({
        account: { serverUrl: url, accountType: 'carddav' },
        fetchOptions: { signal: timed, headers: { ...options.headers } },
        fetch: options.fetch,
      });
      // tsdav swallows failed requests, the caller's abort included.
      signal.throwIfAborted();
      return sameResource(found, url) ? undefined : found;
    },
  };
}

export type Dav = ReturnType<typeof createDav>;
