import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv, type ValidateFunction } from 'ajv';

/**
 * The plumbing of the local stand-ins for cloud CRMs (each vendor's routes are in its own file,
 * written from its published reference): requests recorded, the credentials checked (the vendor's
 * API token, or a bearer token from an OAuth2 client-credentials endpoint at `/token` that
 * `revoke()` invalidates), answers to fail on demand (a 429 with Retry-After, a 500), and every
 * request and answer the routes name checked against the vendor's schema extract: a mismatch is
 * recorded in `violations` (tests expect none).
 */

export interface Recorded {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingMessage['headers'];
  readonly body: unknown;
  /** When it arrived (epoch ms): a retry after a 429 must come after the wait asked for. */
  readonly at: number;
}

export interface Reply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export type Route = (request: Recorded) => Reply | undefined;

export interface FakeVendorOptions {
  /** Whether a request carries the vendor's own credentials (its API token header). */
  readonly authorized: (headers: IncomingMessage['headers']) => boolean;
  /** The vendor's answer to missing or wrong credentials. */
  readonly unauthorized: Reply;
  readonly route: Route;
  /** Where the OAuth2 client-credentials endpoint is: `/token` unless the vendor's is elsewhere. */
  readonly tokenPath?: string;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** A validator for one definition of a vendor's schema extract (a JSON file beside the fakes). */
export function schemaOf(file: string) {
  const document = JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
  const ajv = new Ajv({ allErrors: true, strict: false });
  // The formats the extracts use: RFC 3339 times checked; numbers' widths and vendors' own formats
  // (weclapp's timestamp, html) by their type alone.
  ajv.addFormat('date-time', (value: string) => RFC3339.test(value) && !Number.isNaN(Date.parse(value)));
  ajv.addFormat('uuid', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
  for (const format of ['int32', 'timestamp', 'html', 'google-datetime']) ajv.addFormat(format, true);
  ajv.addSchema({ ...document, $id: 'vendor' });
  const compiled = new Map<string, ValidateFunction>();
  return (name: string, value: unknown): string | undefined => {
    let validate = compiled.get(name);
    if (!validate) {
      if (!(name in document)) throw new Error(`${file} has no ${name}`);
      validate = ajv.getSchema(`vendor#/${name}`)!;
      compiled.set(name, validate);
    }
    return validate(value) ? undefined : `${name}: ${ajv.errorsText(validate.errors)}`;
  };
}

export async function startFakeVendor(options: FakeVendorOptions) {
  const requests: Recorded[] = [];
  const violations: string[] = [];
  const failures: Reply[] = [];
  const later: { at: number; reply: Reply }[] = [];
  const bearer = new Set<string>();
  const tokenRequests: Recorded[] = [];
  let issued = 0;
  let delay: Promise<void> | undefined;
  /** The vendor's limit headers, added to every answer of its API (as its reference describes them). */
  let limitHeaders: ((request: Recorded) => Record<string, string>) | undefined;

  const server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    let text = '';
    for await (const chunk of request) text += chunk;
    let body: unknown = text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // kept as text
    }
    const url = new URL(request.url ?? '/', 'http://fake');
    const recorded: Recorded = {
      method: request.method ?? 'GET',
      url,
      headers: request.headers,
      body,
      at: Date.now(),
    };
    const send = (reply: Reply) => {
      const limits = url.pathname === (options.tokenPath ?? '/token') ? {} : (limitHeaders?.(recorded) ?? {});
      response.writeHead(reply.status, { 'content-type': 'application/json', ...limits, ...reply.headers });
      response.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    };
    if (url.pathname === (options.tokenPath ?? '/token') && request.method === 'POST') {
      tokenRequests.push(recorded);
      const token = `oauth-${++issued}`;
      bearer.add(token);
      return send({ status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: 3600 } });
    }
    requests.push(recorded);
    if (delay) await delay;
    // Issued tokens go as bearer tokens, or under Zoho's own scheme name.
    const given = request.headers.authorization?.replace(/^(Bearer|Zoho-oauthtoken) /, '');
    if (!(given && bearer.has(given)) && !options.authorized(request.headers))
      return send(options.unauthorized);
    const due = later.findIndex((entry) => entry.at === requests.length);
    const failure = due >= 0 ? later.splice(due, 1)[0]!.reply : failures.shift();
    if (failure) return send(failure);
    try {
      send(options.route(recorded) ?? { status: 404, body: { error: 'not found' } });
    } catch (error) {
      violations.push(`${recorded.method} ${url.pathname}: ${(error as Error).message}`);
      send({ status: 500, body: { error: 'the fake failed' } });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    /** The token requests (client credentials), apart from `requests`. */
    tokenRequests,
    violations,
    /** The next requests (after the credentials are checked) get these answers, one each. */
    fail(...replies: Reply[]) {
      failures.push(...replies);
    },
    /** The request `count` requests from now (1: the next one) gets this answer. */
    failAfter(count: number, reply: Reply) {
      later.push({ at: requests.length + count, reply });
    },
    /** Requests wait until the promise settles (a listing held half-way). */
    hold(until: Promise<void> | undefined) {
      delay = until;
    },
    /** Every answer of the API from now on carries these headers (the vendor's request limits). */
    withLimitHeaders(headers: ((request: Recorded) => Record<string, string>) | undefined) {
      limitHeaders = headers;
    },
    /** Bearer tokens issued so far by `/token`. */
    tokens: () => issued,
    /** Every bearer token issued so far is refused from now on. */
    revoke: () => bearer.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type FakeVendor = Awaited<ReturnType<typeof startFakeVendor>>;
