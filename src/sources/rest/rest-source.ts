import type { CountryCode } from 'libphonenumber-js';
import type { RawContact } from '../../contacts/raw-contact.js';
import { createAuth } from '../../net/auth.js';
import {
  createHttpClient,
  type HttpRequest,
  type HttpResponse,
  nextLink,
  RestRequestError,
} from '../../net/http-client.js';
import { type CompiledRequest, compileRequest, isTemplate, joinUrl } from '../../net/request-template.js';
import { regionOf, storedKeys } from '../../phone/index.js';
import { first, type Path, parsePath, reach } from '../../util/json-path.js';
import { isUnset, render, renderValue, type Vars } from '../../util/template.js';
import type { CallOptions, ListOptions, SearchQuery, Source, SourceDeps } from '../types.js';
import { createMapper } from './mapping.js';
import type { RestSourceSettings } from './schema.js';

export { restSourceSchema } from './schema.js';

export type RestSourceConfig = RestSourceSettings & { readonly name: string };

/** Test seams: the environment secrets are read from, and the clock of OAuth2 tokens. */
export interface RestSourceOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly now?: () => number;
}

function renderTree(value: unknown, vars: Vars): unknown {
  if (isTemplate(value)) return renderValue(value, vars);
  if (Array.isArray(value)) return value.map((item) => renderTree(item, vars));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // A field whose variables all lack a value is left out: `after: '{cursor}'` on the first page.
      if (isTemplate(item) && isUnset(item, vars)) continue;
      out[key] = renderTree(item, vars);
    }
    return out;
  }
  return value;
}

function contactRegion(contact: RawContact, fallback: CountryCode): CountryCode {
  return (contact.country && regionOf(contact.country)) || fallback;
}

/**
 * A declarative source for any JSON HTTP API: requests are templates, records are mapped by paths.
 * Lists every contact page by page (mirror mode), or asks the API for one number (live mode).
 */
export function createRestSource(
  config: RestSourceConfig,
  deps: SourceDeps,
  options: RestSourceOptions = {},
): Source {
  const fail = (message: string): never => {
    throw new Error(`rest source "${config.name}": ${message}`);
  };
  if (!config.list && !config.search) {
    fail('needs `list` (to mirror the contacts), `search` (to ask for each call), or both');
  }
  let client: ReturnType<typeof createHttpClient>;
  let listRequest: CompiledRequest | undefined;
  let incrementalRequest: CompiledRequest | undefined;
  let searchRequests: CompiledRequest[] = [];
  try {
    // An OAuth connection is named after its source unless the config names it.
    const authConfig =
      config.auth.type === 'oauth2Code'
        ? { ...config.auth, connection: config.auth.connection ?? config.name }
        : config.auth;
    const auth = createAuth(
      authConfig,
      { baseDir: deps.baseDir, env: options.env ?? process.env },
      {
        timeoutMs: config.requestTimeoutMs,
        ...(options.now && { now: options.now }),
        ...(deps.connections && { connections: deps.connections }),
      },
    );
    client = createHttpClient({ auth, headers: config.headers ?? {}, timeoutMs: config.requestTimeoutMs });
    if (config.list) {
      listRequest = compileRequest(config.list.request, 'list.request', config.baseUrl);
      if (config.list.incremental) {
        incrementalRequest = compileRequest(config.list.incremental, 'list.incremental', config.baseUrl);
      }
      const needed = { page: 'page', offset: 'offset', cursor: 'cursor' }[
        config.list.pagination.type as string
      ];
      for (const [setting, request] of [
        ['list.request', listRequest],
        ['list.incremental', incrementalRequest],
      ] as const) {
        if (needed && request && !request.names.has(needed)) {
          fail(
            `pagination.type ${config.list.pagination.type} needs {${needed}} in ${setting} (url, query, headers or body)`,
          );
        }
      }
    }
    if (config.search) {
      const requests = config.search.request;
      searchRequests = requests.map((request, index) =>
        compileRequest(
          request,
          requests.length > 1 ? `search.request.${index}` : 'search.request',
          config.baseUrl,
        ),
      );
    }
  } catch (error) {
    return fail((error as Error).message);
  }
  const mapper = createMapper(config.fields);
  const listItems = config.list?.items !== undefined ? parsePath(config.list.items) : undefined;
  const searchItems = config.search?.items !== undefined ? parsePath(config.search.items) : undefined;
  const cursorPath =
    config.list?.pagination.type === 'cursor' ? parsePath(config.list.pagination.cursorPath) : undefined;
  const nextPath =
    config.list?.pagination.type === 'link' && config.list.pagination.nextPath !== undefined
      ? parsePath(config.list.pagination.nextPath)
      : undefined;
  let closed = false;

  function build(request: CompiledRequest, vars: Vars, what: string): HttpRequest {
    const text = joinUrl(config.baseUrl, render(request.url, vars, 'url'));
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new RestRequestError(`${what} (${request.label}): the URL template does not give a valid URL`);
    }
    for (const [name, template] of request.query) {
      if (!isUnset(template, vars)) url.searchParams.append(name, render(template, vars, 'raw'));
    }
    const headers: Record<string, string> = {};
    for (const [name, template] of request.headers) {
      if (isUnset(template, vars)) continue;
      const value = render(template, vars, 'raw');
      // A value from a response (a cursor) must not split the header.
      if (/[\r\n\0]/.test(value))
        throw new RestRequestError(`${what} (${request.label}): header ${name} would break`);
      headers[name] = value;
    }
    let body: string | undefined;
    if (request.body?.kind === 'text') body = render(request.body.template, vars, 'json');
    else if (request.body) body = JSON.stringify(renderTree(request.body.tree, vars));
    return {
      method: request.method,
      url,
      headers,
      ...(body !== undefined && { body }),
      what: `${what} (${request.label})`,
    };
  }

  /** The records of a response: at `items`, or the response itself (a list, or one record). */
  function records(response: HttpResponse, items: Path | undefined, what: string): unknown[] {
    const { json } = response;
    if (json === undefined || json === null) return [];
    if (!items) return Array.isArray(json) ? json : [json];
    // A wrong path must not look like an empty listing, which would empty the mirror; `null` is empty.
    const found = reach(json, items, true);
    if (found.length === 0)
      throw new RestRequestError(`${what}: the answer has nothing at "${items.source}"`);
    return found.flat().filter((record) => record !== null && record !== undefined);
  }

  function open(): void {
    if (closed) throw new Error(`rest source "${config.name}" is closed`);
  }

  async function* list(listOptions: ListOptions): AsyncGenerator<RawContact[]> {
    open();
    const settings = config.list!;
    const { pagination } = settings;
    const since = listOptions.since;
    const request = since !== undefined && incrementalRequest ? incrementalRequest : listRequest!;
    const sinceVars =
      since !== undefined ? { since: new Date(since).toISOString(), sinceMs: Math.floor(since) } : {};
    const startPage = pagination.type === 'page' ? pagination.startPage : 1;
    let cursor: string | undefined;
    let next: URL | undefined;
    let offset = 0;
    let origin: string | undefined;
    for (let count = 1; ; count++) {
      listOptions.signal.throwIfAborted();
      open();
      if (count > pagination.maxPages) {
        throw new Error(
          `list: more than ${pagination.maxPages} pages; raise list.pagination.maxPages (nothing was changed)`,
        );
      }
      const what = `list page ${count}`;
      const vars: Vars = {
        ...sinceVars,
        limit: pagination.limit,
        page: startPage + count - 1,
        offset,
        cursor,
      };
      const built = build(request, vars, what);
      const sent: HttpRequest = next
        ? { method: 'GET', url: next, headers: built.headers, what: `${what} (GET next link)` }
        : built;
      origin ??= sent.url.origin;
      const response = await client.send(sent, listOptions.signal, false);
      const items = records(response, listItems, sent.what);
      deps.logger.debug({ page: count, records: items.length }, 'rest source page');
      if (items.length === 0) return;
      yield items.map(mapper);
      offset += items.length;
      switch (pagination.type) {
        case 'none':
          return;
        case 'page':
        case 'offset':
          break;
        case 'cursor': {
          const value = first(response.json, cursorPath!);
          if (value === undefined || value === '' || typeof value === 'object') return;
          if (String(value) === cursor)
            throw new RestRequestError(`${sent.what}: the API gave the same cursor again`);
          cursor = String(value);
          break;
        }
        case 'link': {
          const link = nextPath
            ? linkAt(response.json, nextPath, response.url)
            : nextLink(response.headers.get('link'), response.url);
          if (!link) return;
          if (link.origin !== origin) {
            throw new RestRequestError(
              `${sent.what}: the next link leads to another origin (${link.origin}); not followed`,
            );
          }
          if (link.href === sent.url.href)
            throw new RestRequestError(`${sent.what}: the next link is this page again`);
          next = link;
          break;
        }
      }
    }
  }

  async function search(query: SearchQuery, callOptions: CallOptions): Promise<RawContact[]> {
    open();
    const settings = config.search!;
    const { forms } = query;
    const vars: Vars = {
      e164: forms.e164,
      digits: forms.digits,
      national: forms.national,
      international: forms.international,
      limit: query.limit,
    };
    const answers = await Promise.all(
      searchRequests.map(async (request) => {
        const built = build(request, vars, 'search');
        const response = await client.send(built, callOptions.signal, settings.notFound === 'empty');
        return response.status === 404 ? [] : records(response, searchItems, built.what);
      }),
    );
    const seen = new Set<string>();
    const contacts: RawContact[] = [];
    for (const record of answers.flat()) {
      const contact = mapper(record);
      if (contact.id !== undefined) {
        if (seen.has(contact.id)) continue;
        seen.add(contact.id);
      }
      contacts.push(contact);
    }
    // A vendor's search may be fuzzy; those that have the number come first, so the limit keeps them.
    const exact = (contact: RawContact) =>
      contact.phones.some((phone) =>
        storedKeys(phone.value, contactRegion(contact, query.region)).includes(query.key),
      );
    const ranked = [...contacts.filter(exact), ...contacts.filter((contact) => !exact(contact))];
    return ranked.slice(0, query.limit);
  }

  return {
    type: 'rest',
    name: config.name,
    ...(config.list && { list }),
    ...(config.search && { search }),
    async close() {
      closed = true;
    },
  };
}

function linkAt(json: unknown, path: Path, base: URL): URL | undefined {
  const value = first(json, path);
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  try {
    return new URL(value.trim(), base);
  } catch {
    return undefined;
  }
}
