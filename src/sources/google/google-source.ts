import type { RawContact } from '../../contacts/raw-contact.js';
import { RestRequestError } from '../../net/http-client.js';
import { isObject } from '../../util/json.js';
import { connectorClient } from '../connector-client.js';
import { FullListingNeeded, type ListOptions, type Source, type SourceDeps } from '../types.js';
import type { GoogleSourceSettings } from './schema.js';

export { googleSourceSchema } from './schema.js';

export type GoogleSourceConfig = GoogleSourceSettings & { readonly name: string };

/** Test seams: the environment secrets are read from. */
export interface GoogleSourceOptions {
  readonly env?: NodeJS.ProcessEnv;
}

/** The person fields read: names, numbers, organisations (company) and addresses (country). */
const PERSON_FIELDS = 'names,phoneNumbers,organizations,addresses,metadata';

/** One listing with its own sync token: the account's contacts, or the directory. */
interface Round {
  readonly key: 'contacts' | 'directory';
  readonly path: string;
  /** The parameters every page of it repeats (Google asks the same on every page and sync). */
  readonly params: readonly (readonly [string, string])[];
  /** Where its people are in an answer. */
  readonly items: 'connections' | 'people';
  /** Ids of the directory's people are apart from the contacts'. */
  readonly prefix: string;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

const list = (value: unknown): Record<string, unknown>[] =>
  Array.isArray(value) ? value.filter(isObject) : [];

/** The field marked primary, else the first. */
const primary = (items: Record<string, unknown>[]): Record<string, unknown> | undefined =>
  items.find((item) => isObject(item['metadata']) && item['metadata']['primary'] === true) ?? items[0];

/**
 * Google's error reason: `EXPIRED_SYNC_TOKEN` in the details of a 400 `FAILED_PRECONDITION`
 * (google.rpc.ErrorInfo), else the status.
 */
function googleErrorCode(body: unknown): string | undefined {
  const error = isObject(body) && isObject(body['error']) ? body['error'] : undefined;
  if (!error) return undefined;
  for (const detail of list(error['details'])) {
    const reason = text(detail['reason']);
    if (reason) return reason;
  }
  return text(error['status']);
}

/**
 * Google Contacts and the Workspace directory by the People API: `people/me/connections` and
 * `people:listDirectoryPeople`, every page with `requestSyncToken`; the last page's
 * `nextSyncToken` is kept in the store with the contacts it led to (`keepChangeTokens`), and the
 * syncs in between, in this process or after a restart, ask for the changes since (deleted people
 * come with `metadata.deleted`). An expired token (400 `EXPIRED_SYNC_TOKEN`), or none kept, asks
 * the sync for a full listing. A number's `canonicalForm` (E.164) is read when Google
 * gives one.
 */
export function createGoogleSource(
  config: GoogleSourceConfig,
  deps: SourceDeps,
  options: GoogleSourceOptions = {},
): Source {
  const fail = (message: string): never => {
    throw new Error(`google source "${config.name}": ${message}`);
  };
  if (!config.contacts && !config.directory) fail('reads nothing: give contacts, or directory: true');
  let client: ReturnType<typeof connectorClient>;
  try {
    client = connectorClient(config, config.auth, deps, { env: options.env, errorCode: googleErrorCode });
  } catch (error) {
    return fail((error as Error).message);
  }
  const base = config.baseUrl.replace(/\/+$/, '');
  let closed = false;

  const rounds: Round[] = [
    ...(config.contacts
      ? [
          {
            key: 'contacts' as const,
            path: '/v1/people/me/connections',
            params: [['personFields', PERSON_FIELDS] as const],
            items: 'connections' as const,
            prefix: '',
          },
        ]
      : []),
    ...(config.directory
      ? [
          {
            key: 'directory' as const,
            path: '/v1/people:listDirectoryPeople',
            params: [
              ['readMask', PERSON_FIELDS] as const,
              ['sources', 'DIRECTORY_SOURCE_TYPE_DOMAIN_PROFILE'] as const,
              ...(config.domainContacts
                ? [['sources', 'DIRECTORY_SOURCE_TYPE_DOMAIN_CONTACT'] as const]
                : []),
            ],
            items: 'people' as const,
            prefix: 'directory-',
          },
        ]
      : []),
  ];

  function personOf(round: Round, person: unknown, full: boolean): RawContact | undefined {
    if (!isObject(person)) return { phones: [], customData: {}, invalid: 'the person is not an object' };
    const resource = text(person['resourceName']);
    if (!resource?.startsWith('people/'))
      return { phones: [], customData: {}, invalid: 'the person has no resourceName' };
    const id = `${round.prefix}${resource.slice('people/'.length)}`;
    const metadata = isObject(person['metadata']) ? person['metadata'] : {};
    if (metadata['deleted'] === true)
      return full ? undefined : { id, phones: [], customData: {}, deleted: true };
    const name = primary(list(person['names']));
    const displayName =
      text(name?.['displayName']) ??
      ([text(name?.['givenName']), text(name?.['familyName'])].filter(Boolean).join(' ') || undefined);
    const organisations = list(person['organizations']);
    const organisation = primary(organisations.filter((item) => item['current'] !== false)) ?? undefined;
    const company = text(organisation?.['name']);
    const addresses = list(person['addresses']).filter(
      (item) => text(item['countryCode']) ?? text(item['country']),
    );
    const address = primary(addresses);
    const country = text(address?.['countryCode']) ?? text(address?.['country']);
    const phones: RawContact['phones'] = [];
    for (const phone of list(person['phoneNumbers'])) {
      // Google's E.164 form when it has one; as typed otherwise (read in the contact's country).
      const value = text(phone['canonicalForm']) ?? text(phone['value']);
      const label = text(phone['type']);
      if (value) phones.push({ value, ...(label && { label }) });
    }
    const updated = list(metadata['sources'])
      .map((source) => Date.parse(text(source['updateTime']) ?? ''))
      .filter(Number.isFinite);
    return {
      id,
      ...(displayName && { name: displayName }),
      ...(company && { company }),
      ...(country && { country }),
      phones,
      customData: {},
      ...(updated.length > 0 && { updatedAt: Math.max(...updated) }),
    };
  }

  /** One round: every page, from the start (full) or from its sync token; the next token is returned. */
  async function* listRound(
    round: Round,
    kept: string | undefined,
    full: boolean,
    signal: AbortSignal,
  ): AsyncGenerator<RawContact[], string> {
    const token = full ? undefined : kept;
    if (!full && !token) throw new FullListingNeeded(`no sync token kept for ${round.key}`);
    let pageToken: string | undefined;
    for (let page = 1; ; page++) {
      signal.throwIfAborted();
      if (closed) throw new Error(`google source "${config.name}" is closed`);
      const url = new URL(`${base}${round.path}`);
      for (const [key, value] of round.params) url.searchParams.append(key, value);
      url.searchParams.set('pageSize', String(config.pageSize));
      url.searchParams.set('requestSyncToken', 'true');
      if (token) url.searchParams.set('syncToken', token);
      if (pageToken) url.searchParams.set('pageToken', pageToken);
      const what = `${full ? 'list' : 'changes of'} ${round.key} page ${page}`;
      let json: unknown;
      try {
        ({ json } = await client.send({ method: 'GET', url, headers: {}, what }, signal, false));
      } catch (error) {
        if (error instanceof RestRequestError && error.status === 400 && error.code === 'EXPIRED_SYNC_TOKEN')
          throw new FullListingNeeded(`${what}: the sync token expired`);
        throw error;
      }
      if (!isObject(json)) throw new RestRequestError(`${what}: the answer is not an object`);
      const people = json[round.items] ?? [];
      // Google leaves an empty list out of the answer; anything else must not look like one.
      if (!Array.isArray(people)) throw new RestRequestError(`${what}: ${round.items} is not a list`);
      const contacts = people
        .map((person) => personOf(round, person, full))
        .filter((contact): contact is RawContact => contact !== undefined);
      if (contacts.length > 0) yield contacts;
      const next = text(json['nextPageToken']);
      if (next) {
        if (next === pageToken) throw new RestRequestError(`${what}: Google gave the same page token again`);
        pageToken = next;
        continue;
      }
      const nextSync = text(json['nextSyncToken']);
      if (!nextSync) throw new RestRequestError(`${what}: the last page has no nextSyncToken`);
      return nextSync;
    }
  }

  async function* listAll({
    signal,
    since,
    changeTokens,
    keepChangeTokens,
  }: ListOptions): AsyncGenerator<RawContact[]> {
    if (closed) throw new Error(`google source "${config.name}" is closed`);
    const full = since === undefined;
    // Told only once every round is read: a sync that fails reads the same changes again.
    const tokens = new Map<string, string>();
    for (const round of rounds) {
      const rounding = listRound(round, changeTokens?.[round.key], full, signal);
      for (;;) {
        const step = await rounding.next();
        if (step.done) {
          tokens.set(round.key, step.value);
          break;
        }
        yield step.value;
      }
    }
    keepChangeTokens?.(Object.fromEntries(tokens));
  }

  return {
    type: 'google',
    name: config.name,
    tracksChanges: true,
    list: listAll,
    async close() {
      closed = true;
    },
  };
}
