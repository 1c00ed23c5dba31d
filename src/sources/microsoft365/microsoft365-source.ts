import type { RawContact } from '../../contacts/raw-contact.js';
import { RestRequestError } from '../../net/http-client.js';
import { isObject } from '../../util/json.js';
import { connectorClient } from '../connector-client.js';
import { FullListingNeeded, type ListOptions, type Source, type SourceDeps } from '../types.js';
import { type Microsoft365SourceSettings, microsoft365Auth } from './schema.js';

export { microsoft365SourceSchema } from './schema.js';

export type Microsoft365SourceConfig = Microsoft365SourceSettings & { readonly name: string };

/** Test seams: the environment secrets are read from. */
export interface Microsoft365SourceOptions {
  readonly env?: NodeJS.ProcessEnv;
}

const CONTACT_FIELDS = [
  'displayName',
  'givenName',
  'surname',
  'companyName',
  'businessPhones',
  'homePhones',
  'mobilePhone',
  'businessAddress',
  'homeAddress',
  'otherAddress',
  'lastModifiedDateTime',
];

const USER_FIELDS = [
  'displayName',
  'givenName',
  'surname',
  'companyName',
  'businessPhones',
  'mobilePhone',
  'country',
  'usageLocation',
  'accountEnabled',
];

/** One delta listing: a mailbox's contacts, or the organisation's users. */
interface Round {
  readonly key: string;
  readonly path: string;
  readonly fields: readonly string[];
  /** Graph's page size header: supported by the contacts' delta, not by the users'. */
  readonly pageSize?: number;
  readonly read: (record: Record<string, unknown>, id: string) => RawContact;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

const texts = (value: unknown): string[] =>
  Array.isArray(value) ? value.map(text).filter((item): item is string => item !== undefined) : [];

const time = (value: unknown): number | undefined => {
  const found = text(value);
  const ms = found ? Date.parse(found) : Number.NaN;
  return Number.isFinite(ms) ? ms : undefined;
};

const nameOf = (record: Record<string, unknown>): string | undefined =>
  text(record['displayName']) ??
  ([text(record['givenName']), text(record['surname'])].filter(Boolean).join(' ') || undefined);

/** The first address with a country: business, then home, then other. */
const countryOf = (record: Record<string, unknown>): string | undefined => {
  for (const field of ['businessAddress', 'homeAddress', 'otherAddress']) {
    const address = record[field];
    const country = isObject(address) ? text(address['countryOrRegion']) : undefined;
    if (country) return country;
  }
  return undefined;
};

/**
 * Microsoft 365 by Microsoft Graph, app-only: the Outlook contacts of chosen mailboxes
 * (`/users/{id}/contacts/delta`) and the organisation's users (`/users/delta`, Entra ID). Each is a
 * delta listing: a full sync starts a new round and keeps its `@odata.deltaLink`; an incremental
 * one follows that link and reads the changes, deletions included. The links are kept in the store
 * with the contacts they led to (`keepChangeTokens`), so a restarted or another instance goes on
 * from them. A link Graph no longer knows (410, `syncStateNotFound`), or none kept, asks the sync
 * for a full listing.
 * Contacts and users keep Graph's ids: unique across mailboxes (Exchange item ids) and the directory.
 */
export function createMicrosoft365Source(
  config: Microsoft365SourceConfig,
  deps: SourceDeps,
  options: Microsoft365SourceOptions = {},
): Source {
  const fail = (message: string): never => {
    throw new Error(`microsoft365 source "${config.name}": ${message}`);
  };
  let client: ReturnType<typeof connectorClient>;
  try {
    client = connectorClient(config, microsoft365Auth(config), deps, { env: options.env });
  } catch (error) {
    return fail((error as Error).message);
  }
  const graph = config.graphUrl.replace(/\/+$/, '');
  const graphOrigin = new URL(graph).origin;
  let closed = false;

  function contactOf(mailbox: string) {
    return (record: Record<string, unknown>, id: string): RawContact => {
      const name = nameOf(record);
      const company = text(record['companyName']);
      const country = countryOf(record);
      const updatedAt = time(record['lastModifiedDateTime']);
      return {
        id,
        ...(name && { name }),
        ...(company && { company }),
        ...(country && { country }),
        phones: [
          ...texts(record['businessPhones']).map((value) => ({ value, label: 'work' })),
          ...(text(record['mobilePhone']) ? [{ value: text(record['mobilePhone'])!, label: 'mobile' }] : []),
          ...texts(record['homePhones']).map((value) => ({ value, label: 'home' })),
        ],
        customData: { mailbox },
        ...(updatedAt !== undefined && { updatedAt }),
      };
    };
  }

  function userOf(record: Record<string, unknown>, id: string): RawContact {
    const name = nameOf(record);
    const company = text(record['companyName']) ?? config.organisation;
    const country = text(record['country']) ?? text(record['usageLocation']);
    return {
      id,
      ...(name && { name }),
      ...(company && { company }),
      ...(country && { country }),
      phones: [
        ...texts(record['businessPhones']).map((value) => ({ value, label: 'work' })),
        ...(text(record['mobilePhone']) ? [{ value: text(record['mobilePhone'])!, label: 'mobile' }] : []),
      ],
      customData: {},
      // A disabled account is no longer a contact (a delta gives the change, a full listing leaves it out).
      ...(!config.disabledUsers && record['accountEnabled'] === false && { deleted: true }),
    };
  }

  const rounds: Round[] = [
    ...config.mailboxes.map((mailbox) => ({
      key: `contacts:${mailbox}`,
      path: `/users/${encodeURIComponent(mailbox)}/contacts/delta`,
      fields: CONTACT_FIELDS,
      pageSize: config.pageSize,
      read: contactOf(mailbox),
    })),
    ...(config.users ? [{ key: 'users', path: '/users/delta', fields: USER_FIELDS, read: userOf }] : []),
  ];

  /** A link Graph gave: on its own origin only, so the token never goes elsewhere. */
  function linkOf(value: unknown, what: string): URL | undefined {
    const found = text(value);
    if (!found) return undefined;
    let url: URL;
    try {
      url = new URL(found);
    } catch {
      throw new RestRequestError(`${what}: Graph gave a link that is not a URL`);
    }
    if (url.origin !== graphOrigin) throw new RestRequestError(`${what}: Graph gave a link to another host`);
    return url;
  }

  function recordOf(round: Round, item: unknown, full: boolean): RawContact | undefined {
    if (!isObject(item)) return { phones: [], customData: {}, invalid: 'the record is not an object' };
    const id = text(item['id']);
    if (!id) return { phones: [], customData: {}, invalid: 'the record has no id' };
    // `@removed`: deleted, or (users) out of the listing's scope; a full listing has no use for it.
    if (item['@removed'] !== undefined) {
      if (full) return undefined;
      return { id, phones: [], customData: {}, deleted: true };
    }
    const contact = round.read(item, id);
    if (full && contact.deleted) return undefined;
    return contact;
  }

  /** One round: every page from its start (full) or from its delta link; the new link is returned. */
  async function* listRound(
    round: Round,
    kept: string | undefined,
    full: boolean,
    signal: AbortSignal,
  ): AsyncGenerator<RawContact[], string> {
    let url: URL;
    if (full) {
      url = new URL(`${graph}${round.path}`);
      url.searchParams.set('$select', round.fields.join(','));
    } else {
      if (!kept) throw new FullListingNeeded(`no delta link kept for ${round.key}`);
      // A link kept for another Graph address (the settings changed) is not followed.
      let link: URL | undefined;
      try {
        link = linkOf(kept, `changes of ${round.key}`);
      } catch {
        link = undefined;
      }
      if (!link) throw new FullListingNeeded(`the delta link kept for ${round.key} is not Graph's`);
      url = link;
    }
    const headers: Record<string, string> = round.pageSize
      ? { prefer: `odata.maxpagesize=${round.pageSize}` }
      : {};
    for (let page = 1; ; page++) {
      signal.throwIfAborted();
      if (closed) throw new Error(`microsoft365 source "${config.name}" is closed`);
      const what = `${full ? 'list' : 'changes of'} ${round.key} page ${page}`;
      let json: unknown;
      try {
        ({ json } = await client.send({ method: 'GET', url, headers, what }, signal, false));
      } catch (error) {
        // Graph forgot the delta state (410 Gone, `syncStateNotFound` or `resyncRequired`).
        if (error instanceof RestRequestError && error.status === 410 && !full)
          throw new FullListingNeeded(`${what}: the delta link expired`);
        throw error;
      }
      if (!isObject(json) || !Array.isArray(json['value']))
        throw new RestRequestError(`${what}: the answer has no value list`);
      const contacts = json['value']
        .map((item) => recordOf(round, item, full))
        .filter((contact): contact is RawContact => contact !== undefined);
      if (contacts.length > 0) yield contacts;
      const next = linkOf(json['@odata.nextLink'], what);
      if (next) {
        if (next.href === url.href) throw new RestRequestError(`${what}: Graph gave the same page again`);
        url = next;
        continue;
      }
      const delta = linkOf(json['@odata.deltaLink'], what);
      if (!delta) throw new RestRequestError(`${what}: the last page has no delta link`);
      return delta.href;
    }
  }

  async function* list({
    signal,
    since,
    changeTokens,
    keepChangeTokens,
  }: ListOptions): AsyncGenerator<RawContact[]> {
    if (closed) throw new Error(`microsoft365 source "${config.name}" is closed`);
    const full = since === undefined;
    // Told only once every round is read: a sync that fails reads the same changes again.
    const links = new Map<string, string>();
    for (const round of rounds) {
      const rounding = listRound(round, changeTokens?.[round.key], full, signal);
      for (;;) {
        const step = await rounding.next();
        if (step.done) {
          links.set(round.key, step.value);
          break;
        }
        yield step.value;
      }
    }
    keepChangeTokens?.(Object.fromEntries(links));
  }

  return {
    type: 'microsoft365',
    name: config.name,
    tracksChanges: true,
    list,
    async close() {
      closed = true;
    },
  };
}
