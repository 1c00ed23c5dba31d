import type { IncomingMessage } from 'node:http';
import { type FakeVendor, type Recorded, type Reply, schemaOf, startFakeVendor } from './fake-server.js';

/**
 * A local stand-in for Google's People API v1, written from its published discovery document (see
 * google.schema.json for the extract and its source) and its sync token documentation:
 * `GET /v1/people/me/connections` (`personFields` required; `pageSize` 1..1000; `pageToken`;
 * `requestSyncToken`, `syncToken`) and `GET /v1/people:listDirectoryPeople` (`readMask` and
 * `sources` required, the same paging and tokens). A page token must come with the parameters of
 * the first page. The last page carries `nextSyncToken`; a sync token gives the people changed
 * since it was made, a deleted one with `metadata.deleted`. `expire()` makes every sync token
 * answer 400 `FAILED_PRECONDITION` with the reason `EXPIRED_SYNC_TOKEN`, as Google does after
 * seven days. A request without a valid bearer token gets 401 `UNAUTHENTICATED`. Answers are
 * checked against the extract. Simplifications: tokens are readable; field masks are checked for
 * presence, and the person is given with the fields the test put in.
 */

export const GOOGLE_TOKEN = 'ya29.a0-test-access-token';

interface Item {
  readonly resourceName: string;
  person: Record<string, unknown>;
  seq: number;
  deleted?: boolean;
}

const check = schemaOf('./google.schema.json');

export interface GoogleFake extends FakeVendor {
  /** A contact of the account (`people/c...`) or a directory profile (`people/1...`). */
  putContact(resourceName: string, person: Record<string, unknown>): void;
  removeContact(resourceName: string): void;
  putProfile(resourceName: string, person: Record<string, unknown>): void;
  removeProfile(resourceName: string): void;
  /** Given on the first page of the contacts as they are, past the schema (malformed ones). */
  readonly extraContacts: unknown[];
  /** Every sync token given so far has expired. */
  expire(): void;
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const decode = <T>(value: string): T => JSON.parse(Buffer.from(value, 'base64url').toString()) as T;

export async function startGoogleFake(
  options: { authorized?: (headers: IncomingMessage['headers']) => boolean } = {},
): Promise<GoogleFake> {
  const contacts = new Map<string, Item>();
  const profiles = new Map<string, Item>();
  const extraContacts: unknown[] = [];
  let seq = 0;
  let generation = 0;
  let violations: string[] = [];
  const verify = (name: string, value: unknown) => {
    const problem = check(name, value);
    if (problem) violations.push(problem);
  };
  const put = (store: Map<string, Item>, resourceName: string, person: Record<string, unknown>) => {
    const item = store.get(resourceName);
    if (item) {
      item.person = person;
      item.seq = ++seq;
      delete item.deleted;
    } else store.set(resourceName, { resourceName, person, seq: ++seq });
  };
  const remove = (store: Map<string, Item>, resourceName: string) => {
    const item = store.get(resourceName);
    if (item) {
      item.deleted = true;
      item.seq = ++seq;
    }
  };
  const invalid = (message: string): Reply => ({
    status: 400,
    body: { error: { code: 400, message, status: 'INVALID_ARGUMENT' } },
  });

  function listing(request: Recorded, store: Map<string, Item>, kind: 'connections' | 'directory'): Reply {
    const query = request.url.searchParams;
    const mask = kind === 'connections' ? query.get('personFields') : query.get('readMask');
    if (!mask) return invalid(`${kind === 'connections' ? 'personFields' : 'readMask'} mask is required.`);
    if (kind === 'directory' && query.getAll('sources').length === 0) return invalid('sources are required.');
    const size = Number(query.get('pageSize') ?? 100);
    if (!(size >= 1 && size <= 1000)) return invalid('pageSize');
    // What the first page was asked: a page token is valid only with the same parameters.
    const asked = [...query.entries()]
      .filter(([key]) => key !== 'pageToken')
      .sort()
      .join('&');
    let from = 0;
    let upTo = seq;
    let offset = 0;
    const syncToken = query.get('syncToken');
    if (syncToken) {
      const [tokenSeq, tokenGeneration] = decode<[number, number]>(syncToken);
      if (tokenGeneration !== generation) {
        const body = {
          error: {
            code: 400,
            message: 'Sync token is expired. Clear local cache and retry call without the sync token.',
            status: 'FAILED_PRECONDITION',
            details: [
              {
                '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
                reason: 'EXPIRED_SYNC_TOKEN',
                domain: 'people.googleapis.com',
              },
            ],
          },
        };
        verify('error', body);
        return { status: 400, body };
      }
      from = tokenSeq;
    }
    const pageToken = query.get('pageToken');
    if (pageToken) {
      const [pageAsked, pageFrom, pageUpTo, pageOffset] = decode<[string, number, number, number]>(pageToken);
      if (pageAsked !== asked) return invalid('Parameters must match the call that provided the page token.');
      [from, upTo, offset] = [pageFrom, pageUpTo, pageOffset];
    }
    const changed = [...store.values()]
      .filter((item) => item.seq > from && item.seq <= upTo && !(from === 0 && item.deleted))
      .sort((a, b) => a.seq - b.seq);
    const people = changed
      .slice(offset, offset + size)
      .map((item) =>
        item.deleted
          ? { resourceName: item.resourceName, etag: `%E${item.seq}`, metadata: { deleted: true } }
          : { resourceName: item.resourceName, etag: `%E${item.seq}`, ...item.person },
      );
    const body: Record<string, unknown> = {};
    if (people.length > 0) body[kind === 'connections' ? 'connections' : 'people'] = people;
    if (offset + size < changed.length) body['nextPageToken'] = encode([asked, from, upTo, offset + size]);
    else if (query.get('requestSyncToken') === 'true' || syncToken)
      body['nextSyncToken'] = encode([upTo, generation]);
    if (kind === 'connections') {
      body['totalPeople'] = [...store.values()].filter((item) => !item.deleted).length;
      body['totalItems'] = body['totalPeople'];
    }
    verify(kind, body);
    if (kind === 'connections' && !pageToken && !syncToken && extraContacts.length > 0)
      body['connections'] = [...((body['connections'] as unknown[]) ?? []), ...extraContacts];
    return { status: 200, body };
  }

  const fake = await startFakeVendor({
    authorized: options.authorized ?? ((headers) => headers.authorization === `Bearer ${GOOGLE_TOKEN}`),
    unauthorized: {
      status: 401,
      body: {
        error: {
          code: 401,
          message: 'Request had invalid authentication credentials.',
          status: 'UNAUTHENTICATED',
        },
      },
    },
    route(request) {
      if (request.method !== 'GET') return undefined;
      if (request.url.pathname === '/v1/people/me/connections')
        return listing(request, contacts, 'connections');
      if (request.url.pathname === '/v1/people:listDirectoryPeople')
        return listing(request, profiles, 'directory');
      return undefined;
    },
  });
  violations = fake.violations;
  return Object.assign(fake, {
    putContact: (name: string, person: Record<string, unknown>) => put(contacts, name, person),
    removeContact: (name: string) => remove(contacts, name),
    putProfile: (name: string, person: Record<string, unknown>) => put(profiles, name, person),
    removeProfile: (name: string) => remove(profiles, name),
    extraContacts,
    expire: () => {
      generation++;
    },
  });
}
