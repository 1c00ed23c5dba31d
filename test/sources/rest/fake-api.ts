import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RawContact } from '../../../src/contacts/raw-contact.js';

/**
 * A local stand-in for two vendors' published API shapes, written from their documentation:
 *
 * - HubSpot CRM v3 contacts:
 *   `GET /crm/v3/objects/contacts?limit=&after=&properties=` answers
 *   `{results:[{id, properties:{firstname, lastname, phone, mobilephone, company, hs_lastmodifieddate}, updatedAt, archived}],
 *    paging:{next:{after, link}}}` (no `paging` on the last page);
 *   `POST /crm/v3/objects/contacts/search` takes `{filterGroups:[{filters:[{propertyName, operator, value}]}], limit, after}`
 *   (groups are OR'ed, filters in a group AND'ed) and answers `{total, results, paging}`.
 *   Simplifications: phone properties are compared on their digits, `CONTAINS_TOKEN` with a leading
 *   `*` is a suffix match (fuzzy on purpose: HubSpot's own phone search is not exact either), and
 *   `GTE` on `hs_lastmodifieddate` takes epoch ms or ISO.
 * - Pipedrive-like persons (v1): `GET /v1/persons?start=&limit=` answers
 *   `{success, data:[{id, name, org_id:{name}, phone:[{value, label, primary}], update_time}],
 *    additional_data:{pagination:{start, limit, more_items_in_collection, next_start}}}`; `since`
 *   (ISO) keeps the persons changed since. `GET /v2/persons?page=&per_page=` gives the same persons
 *   as a bare list with an RFC 8288 `Link: <...>; rel="next"` header (GitHub's style of paging).
 *
 * Plus an OAuth2 token endpoint (client credentials, RFC 6749 section 4.4), a route that never
 * answers, and routes to check encoding. Every request is recorded.
 */

export interface HubSpotContact {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

export interface Person {
  id: number;
  name: string;
  org_id: { name: string } | null;
  phone: { value: string; label: string; primary: boolean }[];
  update_time: string;
}

export interface Recorded {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface FakeOptions {
  /** Headers the API routes need (lower-case names); a request without them gets 401. */
  requireHeaders?: Record<string, string>;
  /** The API takes the bearer tokens issued by the token endpoint. */
  oauth?: { clientId: string; clientSecret: string; expiresIn: number };
}

export interface FakeApi {
  readonly url: string;
  readonly requests: Recorded[];
  readonly hubspot: HubSpotContact[];
  readonly persons: Person[];
  /** Token requests received. */
  tokensIssued(): number;
  /** Makes every issued token invalid (as when the vendor rotates them). */
  revokeTokens(): void;
  /** The token endpoint issues tokens the API does not accept. */
  issueBadTokens(bad: boolean): void;
  /** Answers API routes with this status (and a body that echoes the request's headers). */
  failWith(status: number | undefined): void;
  close(): Promise<void>;
}

const digits = (value: string | null | undefined) => (value ?? '').replace(/\D/g, '');
const PHONE_PROPERTIES = new Set(['phone', 'mobilephone']);

/** The contract's contacts as HubSpot holds them; the first number is `phone`, the second `mobilephone`. */
export function toHubSpot(
  contacts: readonly RawContact[],
  updated = '2026-01-10T08:00:00.000Z',
): HubSpotContact[] {
  return contacts.map((contact) => {
    const [firstname = '', ...rest] = (contact.name ?? '').split(' ');
    return {
      id: contact.id!,
      properties: {
        firstname,
        lastname: rest.join(' ') || null,
        company: contact.company ?? null,
        phone: contact.phones[0]?.value ?? null,
        mobilephone: contact.phones[1]?.value ?? null,
        hs_lastmodifieddate: updated,
        hs_object_id: contact.id!,
      },
      createdAt: '2025-06-01T08:00:00.000Z',
      updatedAt: updated,
      archived: false,
    };
  });
}

export function samplePersons(): Person[] {
  return [
    {
      id: 1,
      name: 'Alexa Holiday',
      org_id: { name: 'White Cross Co' },
      phone: [
        { value: '021 552 20 00', label: 'work', primary: true },
        { value: '079 123 45 67', label: 'mobile', primary: false },
      ],
      update_time: '2026-01-01 09:00:00',
    },
    {
      id: 2,
      name: 'Bruno Keller',
      org_id: null,
      phone: [{ value: '+41 44 668 18 00', label: 'work', primary: true }],
      update_time: '2026-02-01 09:00:00',
    },
    {
      id: 3,
      name: 'Claire Dubois',
      org_id: { name: 'Dubois SARL' },
      phone: [{ value: '+33 1 42 68 53 00', label: 'work', primary: true }],
      update_time: '2026-03-01 09:00:00',
    },
    {
      id: 4,
      name: 'Dieter Maurer',
      org_id: null,
      phone: [{ value: '+49 30 901820', label: 'home', primary: true }],
      update_time: '2026-03-05 09:00:00',
    },
    {
      id: 5,
      name: 'Eva Rossi',
      org_id: { name: 'Rossi SpA' },
      phone: [{ value: '+39 06 6982', label: 'work', primary: true }],
      update_time: '2026-03-09 09:00:00',
    },
  ];
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

function matches(
  contact: HubSpotContact,
  filter: { propertyName: string; operator: string; value: string },
): boolean {
  const stored = contact.properties[filter.propertyName] ?? null;
  if (filter.propertyName === 'hs_lastmodifieddate') {
    const at = Date.parse(stored ?? '');
    const value = /^\d+$/.test(filter.value) ? Number(filter.value) : Date.parse(filter.value);
    if (filter.operator === 'GTE') return at >= value;
    if (filter.operator === 'GT') return at > value;
    return false;
  }
  if (PHONE_PROPERTIES.has(filter.propertyName)) {
    if (stored === null) return false;
    if (filter.operator === 'EQ') return digits(stored) === digits(filter.value);
    if (filter.operator === 'CONTAINS_TOKEN') {
      const wanted = digits(filter.value);
      return (
        wanted !== '' &&
        (filter.value.startsWith('*') ? digits(stored).endsWith(wanted) : digits(stored) === wanted)
      );
    }
    return false;
  }
  return filter.operator === 'EQ' && stored === filter.value;
}

export async function startFakeApi(
  contacts: readonly HubSpotContact[],
  options: FakeOptions = {},
): Promise<FakeApi> {
  const requests: Recorded[] = [];
  const hubspot = [...contacts];
  const persons = samplePersons();
  const issued = new Set<string>();
  let tokenCount = 0;
  let badTokens = false;
  let failing: number | undefined;
  let base = '';

  function authorized(request: IncomingMessage): boolean {
    for (const [name, value] of Object.entries(options.requireHeaders ?? {})) {
      if (request.headers[name] !== value) return false;
    }
    if (options.oauth) {
      const header = request.headers.authorization ?? '';
      return header.startsWith('Bearer ') && issued.has(header.slice('Bearer '.length));
    }
    return true;
  }

  function token(request: IncomingMessage, body: string, response: ServerResponse) {
    tokenCount++;
    const oauth = options.oauth!;
    const form = new URLSearchParams(body);
    const expected = `Basic ${Buffer.from(`${oauth.clientId}:${oauth.clientSecret}`).toString('base64')}`;
    const byBasic = request.headers.authorization === expected;
    const byBody =
      form.get('client_id') === oauth.clientId && form.get('client_secret') === oauth.clientSecret;
    if (form.get('grant_type') !== 'client_credentials')
      return send(response, 400, { error: 'unsupported_grant_type' });
    if (!byBasic && !byBody)
      return send(response, 401, {
        error: 'invalid_client',
        error_description: `bad secret for ${oauth.clientId}`,
      });
    const value = `tok-${tokenCount}-${Math.random().toString(36).slice(2)}`;
    if (!badTokens) issued.add(value);
    send(response, 200, { access_token: value, token_type: 'bearer', expires_in: oauth.expiresIn });
  }

  function list(url: URL, response: ServerResponse) {
    const limit = Number(url.searchParams.get('limit') ?? '10');
    const after = Number(url.searchParams.get('after') ?? '0');
    const page = hubspot.slice(after, after + limit);
    const end = after + page.length;
    const more = end < hubspot.length;
    send(response, 200, {
      results: page,
      ...(more && {
        paging: {
          next: { after: String(end), link: `${base}/crm/v3/objects/contacts?after=${end}&limit=${limit}` },
        },
      }),
    });
  }

  function search(body: string, response: ServerResponse) {
    const query = JSON.parse(body) as {
      filterGroups?: { filters: { propertyName: string; operator: string; value: string }[] }[];
      limit?: number;
      after?: string;
    };
    if (query.limit !== undefined && typeof query.limit !== 'number') {
      return send(response, 400, { status: 'error', message: 'limit must be a number' });
    }
    const groups = query.filterGroups ?? [];
    const found = hubspot.filter(
      (contact) =>
        groups.length === 0 ||
        groups.some((group) => group.filters.every((filter) => matches(contact, filter))),
    );
    const limit = query.limit ?? 10;
    const after = Number(query.after ?? '0');
    const page = found.slice(after, after + limit);
    const end = after + page.length;
    send(response, 200, {
      total: found.length,
      results: page,
      ...(end < found.length && { paging: { next: { after: String(end) } } }),
    });
  }

  function personsSince(url: URL): Person[] {
    const since = url.searchParams.get('since');
    if (!since) return persons;
    return persons.filter(
      (person) => Date.parse(`${person.update_time.replace(' ', 'T')}Z`) >= Date.parse(since),
    );
  }

  function personsByOffset(url: URL, response: ServerResponse) {
    const start = Number(url.searchParams.get('start') ?? '0');
    const limit = Math.min(Number(url.searchParams.get('limit') ?? '100'), 2); // the API caps pages at 2
    const all = personsSince(url);
    const data = all.slice(start, start + limit);
    const more = start + data.length < all.length;
    send(response, 200, {
      success: true,
      data: data.length > 0 ? data : null,
      additional_data: {
        pagination: {
          start,
          limit,
          more_items_in_collection: more,
          ...(more && { next_start: start + data.length }),
        },
      },
    });
  }

  function personsByPage(url: URL, response: ServerResponse) {
    const page = Number(url.searchParams.get('page') ?? '1');
    const perPage = Number(url.searchParams.get('per_page') ?? '30');
    const all = personsSince(url);
    const data = all.slice((page - 1) * perPage, page * perPage);
    const last = Math.max(1, Math.ceil(all.length / perPage));
    const link = (n: number) => `${base}/v2/persons?page=${n}&per_page=${perPage}`;
    const links = [
      ...(page < last ? [`<${link(page + 1)}>; rel="next"`, `<${link(last)}>; rel="last"`] : []),
      `<${link(1)}>; rel="first"`,
    ];
    const headers: Record<string, string> = url.searchParams.has('nolink') ? {} : { link: links.join(', ') };
    send(response, 200, data, headers);
  }

  const server = createServer(async (request, response) => {
    const body = await readBody(request);
    const url = new URL(request.url ?? '/', base);
    requests.push({ method: request.method ?? 'GET', url, headers: request.headers, body });
    const route = `${request.method} ${url.pathname}`;
    if (route === 'POST /oauth/v1/token') return token(request, body, response);
    if (url.pathname === '/hang') return; // never answers
    if (url.pathname === '/moved') {
      response.writeHead(302, {
        location: `http://localhost:${(server.address() as AddressInfo).port}/v2/persons`,
      });
      return response.end();
    }
    if (url.pathname === '/flat') {
      return send(response, 200, [
        {
          id: 'f1',
          first_name: 'Ana',
          last_name: 'Muster',
          company: 'Muster AG',
          phone: '044 668 18 00',
          mobile: ['079 555 66 77', '078 555 66 77'],
          email: 'ana@example.ch',
          updated_at: '2026-01-01T00:00:00Z',
          tags: { vip: true },
        },
      ]);
    }
    if (url.pathname === '/html') {
      response.writeHead(200, { 'content-type': 'text/html' });
      return response.end('<html>maintenance</html>');
    }
    if (!authorized(request)) {
      // Like many APIs, the error body tells too much: it echoes what it was sent.
      return send(response, 401, {
        status: 'error',
        message: 'authentication failed',
        received: request.headers,
      });
    }
    if (failing) return send(response, failing, { message: 'failure', received: request.headers });
    if (route === 'GET /crm/v3/objects/contacts') return list(url, response);
    if (route === 'POST /crm/v3/objects/contacts/search') return search(body, response);
    if (route === 'GET /v1/persons') return personsByOffset(url, response);
    if (route === 'GET /v2/persons') return personsByPage(url, response);
    const byPhone = /^\/v1\/persons\/by-phone\/(.+)$/.exec(url.pathname);
    if (request.method === 'GET' && byPhone) {
      const wanted = digits(decodeURIComponent(byPhone[1]!));
      const person = persons.find((p) =>
        p.phone.some((phone) => digits(phone.value).endsWith(wanted.slice(-9))),
      );
      return person
        ? send(response, 200, { success: true, data: person })
        : send(response, 404, { success: false });
    }
    // Cursor echo: `/echo/<cursor>?c=<cursor>` and a JSON body `{"cursor": ...}` must carry the same value.
    if (url.pathname.startsWith('/echo')) {
      const fromPath = decodeURIComponent(url.pathname.slice('/echo/'.length));
      const fromQuery = url.searchParams.get('c') ?? '';
      const fromBody = body ? ((JSON.parse(body) as { cursor?: string }).cursor ?? '') : '';
      const cursor = url.pathname === '/echo' ? fromBody : fromPath;
      if (url.pathname !== '/echo' && fromQuery !== fromPath)
        return send(response, 400, { error: 'path and query differ' });
      if (cursor === '') return send(response, 200, { items: [persons[0]], next: ECHO_CURSOR });
      if (cursor === ECHO_CURSOR) return send(response, 200, { items: [persons[1]] });
      return send(response, 400, { error: `unexpected cursor ${cursor}` });
    }
    send(response, 404, { status: 'error', message: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let closed = false;
  return {
    url: base,
    requests,
    hubspot,
    persons,
    tokensIssued: () => tokenCount,
    revokeTokens: () => issued.clear(),
    issueBadTokens: (bad) => {
      badTokens = bad;
    },
    failWith: (status) => {
      failing = status;
    },
    async close() {
      if (closed) return;
      closed = true;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A cursor with every character that breaks naive URL or JSON building. */
export const ECHO_CURSOR = 'a b&c=d/e?f#g+h"i\\j\u00e9';
