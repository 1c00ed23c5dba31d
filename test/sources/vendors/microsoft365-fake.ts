import { type FakeVendor, type Recorded, type Reply, schemaOf, startFakeVendor } from './fake-server.js';

/**
 * A local stand-in for Microsoft Graph v1.0, written from its published metadata (see
 * microsoft365.schema.json for the extract and its source) and its delta query documentation:
 * `GET /v1.0/users/{id}/contacts/delta` (`$select`, `Prefer: odata.maxpagesize`) and
 * `GET /v1.0/users/delta` (`$select`; 100 a page), each page but the last with an
 * `@odata.nextLink` (`$skiptoken`), the last with an `@odata.deltaLink` (`$deltatoken`); a delta
 * link gives what changed after it was made, a deleted item as `{ id, "@removed": { reason } }`;
 * `expire()` makes every delta link answer 410 Gone (`syncStateNotFound`), as Graph does when it
 * dropped the state. The app's token comes from `/{tenant}/oauth2/v2.0/token` (client
 * credentials); a request without one gets 401 `InvalidAuthenticationToken`. Answers are checked
 * against the extract. Simplifications: a changed item is given whole (Graph may give only the
 * changed properties of a user); page tokens are readable numbers.
 */

export const M365_TENANT = 'contoso.onmicrosoft.com';

interface Item {
  readonly id: string;
  fields: Record<string, unknown>;
  /** The change counter when it last changed. */
  seq: number;
  removed?: boolean;
}

const check = schemaOf('./microsoft365.schema.json');

export interface Microsoft365Fake extends FakeVendor {
  /** A mailbox's contacts (a mailbox the fake was not told of is unknown: 404). */
  putContact(mailbox: string, id: string, fields: Record<string, unknown>): void;
  removeContact(mailbox: string, id: string): void;
  putUser(id: string, fields: Record<string, unknown>): void;
  removeUser(id: string): void;
  /** Given on the first page of a mailbox's listing as they are, past the schema (malformed ones). */
  readonly extraContacts: unknown[];
  /** Every delta link given so far is forgotten: 410. */
  expire(): void;
}

export async function startMicrosoft365Fake(): Promise<Microsoft365Fake> {
  const mailboxes = new Map<string, Map<string, Item>>();
  const users = new Map<string, Item>();
  const extraContacts: unknown[] = [];
  let seq = 0;
  /** Delta links of an older generation are forgotten. */
  let generation = 0;
  let violations: string[] = [];
  const verify = (name: string, value: unknown) => {
    const problem = check(name, value);
    if (problem) violations.push(problem);
  };

  const put = (store: Map<string, Item>, id: string, fields: Record<string, unknown>) => {
    const item = store.get(id);
    if (item) {
      item.fields = fields;
      item.seq = ++seq;
      delete item.removed;
    } else store.set(id, { id, fields, seq: ++seq });
  };
  const remove = (store: Map<string, Item>, id: string) => {
    const item = store.get(id);
    if (item) {
      item.removed = true;
      item.seq = ++seq;
    }
  };

  const gone: Reply = {
    status: 410,
    body: { error: { code: 'syncStateNotFound', message: 'The sync state generation is not found.' } },
  };

  function delta(request: Recorded, store: Map<string, Item>, kind: 'contact' | 'user'): Reply {
    const query = request.url.searchParams;
    const prefer = /odata\.maxpagesize=(\d+)/.exec(String(request.headers['prefer'] ?? ''));
    if (kind === 'user' && prefer) throw new Error('users delta has no odata.maxpagesize');
    const size = kind === 'contact' ? Number(prefer?.[1] ?? 10) : 100;
    // A page token: the change the round started from, where it stands, and the select.
    let from: number;
    let offset = 0;
    let upTo: number;
    let select: string;
    const skip = query.get('$skiptoken');
    const token = query.get('$deltatoken');
    if (skip) {
      const parsed = JSON.parse(Buffer.from(skip, 'base64url').toString()) as number[] & { s?: string };
      [from, offset, upTo] = parsed as unknown as [number, number, number];
      select = (parsed as unknown as [number, number, number, string])[3];
    } else if (token) {
      const parsed = JSON.parse(Buffer.from(token, 'base64url').toString()) as [number, string, number];
      [from, select] = parsed;
      if (parsed[2] !== generation) return gone;
      upTo = seq;
    } else {
      from = 0;
      upTo = seq;
      select = query.get('$select') ?? '';
    }
    if ((skip || token) && query.has('$select')) throw new Error('a delta or next link is used as given');
    const fields = select.split(',').filter(Boolean);
    const changed = [...store.values()]
      .filter((item) => item.seq > from && item.seq <= upTo && !(from === 0 && item.removed))
      .sort((a, b) => a.seq - b.seq);
    const page = changed.slice(offset, offset + size).map((item) =>
      item.removed
        ? { id: item.id, '@removed': { reason: 'deleted' } }
        : {
            id: item.id,
            ...Object.fromEntries(
              fields.filter((name) => name in item.fields).map((name) => [name, item.fields[name]]),
            ),
          },
    );
    const base = `http://${request.headers.host}${request.url.pathname}`;
    const body: Record<string, unknown> = {
      '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#Collection(${kind})`,
      value: page,
    };
    if (offset + size < changed.length) {
      const next = Buffer.from(JSON.stringify([from, offset + size, upTo, select])).toString('base64url');
      body['@odata.nextLink'] = `${base}?$skiptoken=${next}`;
    } else {
      body['@odata.deltaLink'] =
        `${base}?$deltatoken=${Buffer.from(JSON.stringify([upTo, select, generation])).toString('base64url')}`;
    }
    verify(kind === 'contact' ? 'contactDeltaResponse' : 'userDeltaResponse', body);
    const extra = kind === 'contact' && !skip && !token ? extraContacts : [];
    return { status: 200, body: { ...body, value: [...page, ...extra] } };
  }

  const fake = await startFakeVendor({
    tokenPath: `/${M365_TENANT}/oauth2/v2.0/token`,
    authorized: () => false,
    unauthorized: {
      status: 401,
      body: {
        error: { code: 'InvalidAuthenticationToken', message: 'Access token is empty.' },
      },
    },
    route(request) {
      if (request.method !== 'GET') return undefined;
      const path = request.url.pathname;
      if (path === '/v1.0/users/delta') return delta(request, users, 'user');
      const contacts = /^\/v1\.0\/users\/([^/]+)\/contacts\/delta$/.exec(path);
      if (contacts) {
        const store = mailboxes.get(decodeURIComponent(contacts[1]!));
        if (!store) {
          return {
            status: 404,
            body: { error: { code: 'ErrorInvalidUser', message: 'The requested user is invalid.' } },
          };
        }
        return delta(request, store, 'contact');
      }
      return undefined;
    },
  });
  violations = fake.violations;
  const mailbox = (address: string) => {
    let store = mailboxes.get(address);
    if (!store) {
      store = new Map();
      mailboxes.set(address, store);
    }
    return store;
  };
  return Object.assign(fake, {
    putContact: (address: string, id: string, fields: Record<string, unknown>) =>
      put(mailbox(address), id, fields),
    removeContact: (address: string, id: string) => remove(mailbox(address), id),
    putUser: (id: string, fields: Record<string, unknown>) => put(users, id, fields),
    removeUser: (id: string) => remove(users, id),
    extraContacts,
    expire: () => {
      generation++;
    },
  });
}
