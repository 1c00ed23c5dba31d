import { readSecret } from '../../config/secret-fields.js';
import type { RawContact } from '../../contacts/raw-contact.js';
import type { AuthConfig } from '../../net/auth-schema.js';
import { RestRequestError } from '../../net/http-client.js';
import {
  type OdooCall,
  OdooError,
  odooConnectionIssues,
  odooLoginRequest,
  odooRequest,
  odooResult,
  odooTime,
  parseOdooTime,
} from '../../net/odoo-rpc.js';
import { isObject } from '../../util/json.js';
import { connectorClient } from '../connector-client.js';
import type { ListOptions, Source, SourceDeps } from '../types.js';
import type { OdooSourceSettings } from './schema.js';

export { odooSourceSchema } from './schema.js';

export type OdooSourceConfig = OdooSourceSettings & { readonly name: string };

/** Test seams: the environment secrets are read from. */
export interface OdooSourceOptions {
  readonly env?: NodeJS.ProcessEnv;
}

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;

/** A many2one's display name: Odoo gives `[id, "name"]`, or false when unset. */
const nameOf = (value: unknown): string | undefined =>
  Array.isArray(value) && value.length === 2 ? text(value[1]) : undefined;
const idOf = (value: unknown): number | undefined =>
  Array.isArray(value) && Number.isInteger(value[0]) ? (value[0] as number) : undefined;

/**
 * Odoo contacts (`res.partner`), companies (`is_company`) and persons alike, by the JSON-2 API
 * (Odoo 19 and later) or JSON-RPC's `execute_kw` (older versions): every page of those with a
 * number, by id, or those changed since the last sync (`write_date`), archived ones included so
 * that they leave the index. A person's company is its parent's name (`parent_id`); the country its
 * national numbers are read in is its address's (`country_id`).
 */
export function createOdooSource(
  config: OdooSourceConfig,
  deps: SourceDeps,
  options: OdooSourceOptions = {},
): Source {
  const fail = (message: string): never => {
    throw new Error(`odoo source "${config.name}": ${message}`);
  };
  const issues = odooConnectionIssues(config);
  if (issues.length > 0) fail(issues.map((issue) => `${issue.path}: ${issue.message}`).join('; '));
  const env = options.env ?? process.env;
  const base = config.url.replace(/\/+$/, '');
  let client: ReturnType<typeof connectorClient>;
  let apiKey: string;
  try {
    apiKey = readSecret(config as Record<string, unknown>, 'apiKey', { baseDir: deps.baseDir, env });
    // JSON-2: the key as a bearer token; JSON-RPC: in the call's arguments.
    const auth: AuthConfig =
      config.api === 'json2' ? ({ type: 'bearer', token: apiKey } as AuthConfig) : { type: 'none' };
    client = connectorClient(config, auth, deps, {
      env,
      ...(config.api === 'json2' && config.database && { headers: { 'x-odoo-database': config.database } }),
    });
  } catch (error) {
    return fail((error as Error).message.replace(/^auth\./, ''));
  }
  let uid: number | undefined;
  let closed = false;

  async function post(path: string, body: unknown, what: string, signal: AbortSignal): Promise<unknown> {
    signal.throwIfAborted();
    if (closed) throw new Error(`odoo source "${config.name}" is closed`);
    const { json } = await client.send(
      { method: 'POST', url: new URL(`${base}${path}`), headers: {}, body: JSON.stringify(body), what },
      signal,
      false,
    );
    try {
      return odooResult(config.api, json, what);
    } catch (error) {
      if (error instanceof OdooError) throw new RestRequestError(error.message);
      throw error;
    }
  }

  async function call(odoo: OdooCall, what: string, signal: AbortSignal): Promise<unknown> {
    if (config.api === 'jsonrpc' && uid === undefined) {
      const login = odooLoginRequest(config.database!, config.login!, apiKey);
      const found = await post(login.path, login.body, 'log in', signal);
      if (typeof found !== 'number') throw new RestRequestError('log in: Odoo refused the login and API key');
      uid = found;
    }
    const request = odooRequest(
      config.api,
      odoo,
      uid === undefined ? undefined : { database: config.database!, uid, apiKey },
    );
    return post(request.path, request.body, what, signal);
  }

  const fields = [
    'id',
    'name',
    'is_company',
    'parent_id',
    'country_id',
    'active',
    'write_date',
    ...config.phoneFields,
  ];

  function contactOf(record: unknown, incremental: boolean): RawContact {
    if (!isObject(record)) return { phones: [], customData: {}, invalid: 'the partner is not an object' };
    const id = record['id'];
    if (typeof id !== 'number' || !Number.isInteger(id))
      return { phones: [], customData: {}, invalid: 'the partner has no id' };
    const phones: RawContact['phones'] = [];
    for (const field of config.phoneFields) {
      const value = record[field];
      if (value !== false && value !== null && value !== undefined && typeof value !== 'string')
        return { id: String(id), phones: [], customData: {}, invalid: `partner ${id}: ${field} is not text` };
      const number = text(value);
      if (number) phones.push({ value: number, label: field });
    }
    // Archived, or no number any more: gone from the index (a full listing leaves them out).
    if (incremental && (record['active'] === false || phones.length === 0))
      return { id: String(id), phones: [], customData: {}, deleted: true };
    const company = record['is_company'] === true;
    const name = text(record['name']);
    const parent = nameOf(record['parent_id']);
    const parentId = idOf(record['parent_id']);
    const country = nameOf(record['country_id']);
    const updatedAt = parseOdooTime(record['write_date']);
    const link = (partner: number) => `${base}/web#id=${partner}&model=res.partner&view_type=form`;
    return {
      id: String(id),
      ...(!company && name && { name }),
      ...(company ? name && { company: name } : parent && { company: parent }),
      ...(country && { country }),
      contactUri: link(id),
      ...(company ? { companyUri: link(id) } : parentId !== undefined && { companyUri: link(parentId) }),
      phones,
      customData: {},
      ...(updatedAt !== undefined && { updatedAt }),
    };
  }

  async function* list({ signal, since }: ListOptions): AsyncGenerator<RawContact[]> {
    if (closed) throw new Error(`odoo source "${config.name}" is closed`);
    const incremental = since !== undefined;
    const hasNumber = [
      ...config.phoneFields.slice(1).map(() => '|'),
      ...config.phoneFields.map((field) => [field, '!=', false]),
    ];
    const domain = incremental ? [['write_date', '>=', odooTime(since)]] : hasNumber;
    for (let offset = 0; ; offset += config.pageSize) {
      const page = await call(
        {
          model: 'res.partner',
          method: 'search_read',
          kwargs: {
            domain,
            fields,
            order: 'id',
            offset,
            limit: config.pageSize,
            // Archived partners too when changes are asked: they leave the index.
            ...(incremental && { context: { active_test: false } }),
          },
        },
        `${incremental ? 'changed' : 'list'} partners from ${offset}`,
        signal,
      );
      if (!Array.isArray(page))
        throw new RestRequestError(`list partners from ${offset}: the answer is not a list of records`);
      if (page.length > 0) yield page.map((record) => contactOf(record, incremental));
      if (page.length < config.pageSize) return;
    }
  }

  return {
    type: 'odoo',
    name: config.name,
    list,
    async close() {
      closed = true;
    },
  };
}
