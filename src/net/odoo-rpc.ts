import * as z from 'zod';
import { secretFields } from '../config/secret-fields.js';
import { isObject } from '../util/json.js';

/**
 * Odoo's external API, as the odoo source and the odoo action both speak it (each sends with its
 * own HTTP client): the JSON-2 API of Odoo 19 and later (`POST /json/2/<model>/<method>` with the
 * method's arguments by name, `Authorization: bearer <api key>`), or JSON-RPC for older versions
 * (`POST /jsonrpc`, `execute_kw` of the `object` service with the database, the user's id and the
 * API key, after `login` of the `common` service).
 */

/** The connection settings both the source and the action have. */
export const odooConnectionFields = {
  /** The Odoo's address: `https://acme.odoo.com`. */
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  /** `json2` (Odoo 19 and later) or `jsonrpc` (older versions, and any later one). */
  api: z.enum(['json2', 'jsonrpc']).default('json2'),
  /** The database: needed by JSON-RPC; with JSON-2, sent as `X-Odoo-Database` when given (several databases on one address). */
  database: z.string().min(1).max(120).optional(),
  /** The user the API key is of (JSON-RPC's login). */
  login: z.string().min(1).max(200).optional(),
  /** The user's API key (`apiKey`, `apiKeyEnv` or `apiKeyFile`). */
  ...secretFields('apiKey'),
};

/** Checks what each API needs: JSON-RPC a database and a login. */
export function odooConnectionIssues(settings: {
  readonly api: 'json2' | 'jsonrpc';
  readonly database?: string | undefined;
  readonly login?: string | undefined;
}): { path: string; message: string }[] {
  if (settings.api !== 'jsonrpc') return [];
  return [
    ...(settings.database ? [] : [{ path: 'database', message: 'JSON-RPC needs the database' }]),
    ...(settings.login ? [] : [{ path: 'login', message: "JSON-RPC needs the API key's user (login)" }]),
  ];
}

/** One call of a model's method: on records (`ids`), with the rest of its arguments by name. */
export interface OdooCall {
  readonly model: string;
  readonly method: string;
  readonly ids?: readonly number[];
  readonly kwargs: Readonly<Record<string, unknown>>;
}

/** What JSON-RPC needs besides the call: the database, the user's id (from `login`) and the key. */
export interface OdooSession {
  readonly database: string;
  readonly uid: number;
  readonly apiKey: string;
}

/** The path and body of a call. */
export function odooRequest(
  api: 'json2' | 'jsonrpc',
  call: OdooCall,
  session?: OdooSession,
): { readonly path: string; readonly body: unknown } {
  if (api === 'json2') {
    return {
      path: `/json/2/${call.model}/${call.method}`,
      body: { ...(call.ids && { ids: call.ids }), ...call.kwargs },
    };
  }
  if (!session) throw new Error('JSON-RPC needs a session');
  return {
    path: '/jsonrpc',
    body: {
      jsonrpc: '2.0',
      method: 'call',
      id: 1,
      params: {
        service: 'object',
        method: 'execute_kw',
        args: [
          session.database,
          session.uid,
          session.apiKey,
          call.model,
          call.method,
          call.ids ? [call.ids] : [],
          call.kwargs,
        ],
      },
    },
  };
}

/** JSON-RPC's `login`: the user's id for the database, login and key. */
export function odooLoginRequest(database: string, login: string, apiKey: string) {
  return {
    path: '/jsonrpc',
    body: {
      jsonrpc: '2.0',
      method: 'call',
      id: 1,
      params: { service: 'common', method: 'login', args: [database, login, apiKey] },
    },
  };
}

/** Odoo's error in an answer (JSON-RPC's `error`, JSON-2's body of a failed status): its name, never its debug text. */
export class OdooError extends Error {
  constructor(
    message: string,
    /** Odoo's exception name: `odoo.exceptions.AccessError`... */
    readonly odooName?: string,
  ) {
    super(message);
    this.name = 'OdooError';
  }
}

const NAME = /^[\w.]{1,120}$/;

/** The result of an answer: JSON-2's body, JSON-RPC's `result`; JSON-RPC's `error` is thrown. */
export function odooResult(api: 'json2' | 'jsonrpc', json: unknown, what: string): unknown {
  if (api === 'json2') return json;
  if (!isObject(json)) throw new OdooError(`${what}: the answer is not JSON-RPC`);
  if (isObject(json['error'])) {
    const data = isObject(json['error']['data']) ? json['error']['data'] : {};
    const name = typeof data['name'] === 'string' && NAME.test(data['name']) ? data['name'] : undefined;
    throw new OdooError(`${what}: Odoo refused it${name ? ` (${name})` : ''}`, name);
  }
  if (!('result' in json)) throw new OdooError(`${what}: the answer has no result`);
  return json['result'];
}

/** Odoo's time (`2026-11-26 10:00:00`, UTC) of epoch milliseconds, and back. */
export const odooTime = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
export function parseOdooTime(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)?$/.test(value))
    return undefined;
  const ms = Date.parse(`${value.replace(' ', 'T')}Z`);
  return Number.isFinite(ms) ? ms : undefined;
}
