import { createHash } from 'node:crypto';
import { basename, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type * as z from 'zod';
import { readPassword } from '../../sql/connection.js';
import { bindNamed } from '../../sql/named-params.js';
import { sharedClient } from '../../sql/pools.js';
import { isObject } from '../../util/json.js';
import { fillLink } from '../../util/template.js';
import { parseIsoTime } from '../../util/time.js';
import type { CallParameters, ParameterName } from './sql-parameters.js';
import { callPresets } from './sql-presets.js';
import type { sqlActionSchema } from './sql-schema.js';
import { createVtigerWriter, type VtigerWriter, vtigerOwner, vtigerRecordUrl } from './sql-vtiger.js';
import { type Action, DeliveryError } from './types.js';

export type { CallParameters } from './sql-parameters.js';
export { SQL_ACTION_PARAMETERS, sqlActionSchema } from './sql-schema.js';

export type SqlActionConfig = z.output<typeof sqlActionSchema>;

// --- ids ---------------------------------------------------------------------------------------

/** callcard's namespace for the UUIDs of the records its sql action writes. */
const NAMESPACE = Buffer.from('6f1c2b9e4d7a4e0f9b3c8a5d2e1f0c7b', 'hex');

/** A name-based UUID (version 5, SHA-1, RFC 9562) in the 36-character form CRMs store. */
export function recordUuid(name: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// --- the payload as parameters -----------------------------------------------------------------

type Json = Record<string, unknown>;

const text = (value: unknown): string | null =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
const time = (value: unknown): number | undefined =>
  typeof value === 'string' ? parseIsoTime(value.trim()) : undefined;

/** "YYYY-MM-DD HH:MM:SS" in UTC. */
export const utcDateTime = (date: Date) =>
  date
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '');

function durationText(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

export function callParameters(
  payload: Readonly<Json>,
  deliveryId: string,
  options: { userId?: string; contactSource?: string; now?: number; recordOf?: string } = {},
): CallParameters {
  const call = isObject(payload['call']) ? payload['call'] : {};
  const found = isObject(payload['contact']) ? payload['contact'] : undefined;
  const contact =
    found && text(found['id']) && (!options.contactSource || found['source'] === options.contactSource)
      ? found
      : undefined;
  const now = options.now ?? Date.now();
  const direction: CallParameters['direction'] =
    call['direction'] === 'incoming' || call['direction'] === 'outgoing' ? call['direction'] : null;
  const status: CallParameters['status'] =
    call['status'] === 'answered' || text(call['answeredTime']) ? 'answered' : 'missed';
  const seconds =
    status === 'answered' && typeof call['durationSeconds'] === 'number' && call['durationSeconds'] > 0
      ? Math.round(call['durationSeconds'])
      : 0;
  const started =
    time(call['startedTime']) ??
    time(call['answeredTime']) ??
    time(call['declinedTime']) ??
    time(call['endedTime']) ??
    now;
  const ended = time(call['endedTime']) ?? time(call['declinedTime']) ?? started + seconds * 1000;
  const answered = time(call['answeredTime']);

  const originatorNumber = text(call['originatorNumber']);
  const destinationNumber = text(call['destinationNumber']);
  const originatorName = text(call['originatorName']);
  const destinationName = text(call['destinationName']);
  const outgoing = direction === 'outgoing';
  const otherNumber = outgoing ? destinationNumber : originatorNumber;
  const otherName = outgoing ? destinationName : originatorName;
  const contactName = contact ? text(contact['name']) : null;
  const contactCompany = contact ? text(contact['company']) : null;

  const who = contactName ?? contactCompany ?? otherName ?? otherNumber ?? 'an unknown number';
  const subject =
    status === 'answered'
      ? direction === 'incoming'
        ? `Incoming call from ${who}`
        : outgoing
          ? `Outgoing call to ${who}`
          : `Call with ${who}`
      : direction === 'incoming'
        ? `Missed call from ${who}`
        : outgoing
          ? `Unanswered call to ${who}`
          : `Missed call with ${who}`;
  const party = (number: string | null, name: string | null) =>
    [number ?? 'unknown', name && `(${name})`].filter(Boolean).join(' ');
  const contactLine = contactName ?? contactCompany;
  const callId = text(payload['callId']) ?? '';
  const description = [
    `From: ${party(originatorNumber, originatorName ?? (!outgoing ? contactLine : null))}`,
    `To: ${party(destinationNumber, destinationName ?? (outgoing ? contactLine : null))}`,
    status === 'answered' ? `Answered, duration ${durationText(seconds)}` : 'Not answered',
    `Logged by callcard (call ${callId})`,
  ].join('\n');

  const userCrmId = text(call['userCrmId']);
  return {
    deliveryId,
    callId,
    workflow: text(payload['workflow']) ?? '',
    recordId: recordUuid(options.recordOf ?? deliveryId),
    direction,
    status,
    durationSeconds: seconds,
    durationMinutes: seconds > 0 ? Math.max(1, Math.round(seconds / 60)) : 0,
    startedAt: new Date(started),
    answeredAt: answered === undefined ? null : new Date(answered),
    endedAt: new Date(ended),
    startedAtUtc: utcDateTime(new Date(started)),
    endedAtUtc: utcDateTime(new Date(ended)),
    contactCrmId: text(call['contactCrmId']),
    userCrmId,
    userId: userCrmId ?? options.userId ?? null,
    originatorNumber,
    originatorName,
    destinationNumber,
    destinationName,
    otherNumber,
    otherName,
    contactId: contact ? text(contact['id']) : null,
    contactName,
    contactCompany,
    contactSource: contact ? text(contact['source']) : null,
    subject,
    description,
    now: new Date(now),
    nowUtc: utcDateTime(new Date(now)),
  } satisfies Record<ParameterName, unknown>;
}

/** Reads `{name}` placeholders from the parameters; undefined when one of them is empty. */
function fill(template: string, values: Readonly<Record<string, unknown>>): string | undefined {
  const url = fillLink(template, (name) => {
    const value = values[name];
    return value instanceof Date ? value.toISOString() : value == null ? value : String(value);
  });
  return url === undefined || !/^https?:\/\//.test(url) ? undefined : url;
}

// --- connections -------------------------------------------------------------------------------

interface Writer {
  execute(sql: string, values: Readonly<Record<string, unknown>>, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/**
 * SQLite opened for writing (the sql source's handle is read-only), on first use. It binds no
 * dates nor booleans: times go in as ISO-8601 text, booleans as 1 and 0.
 */
function sqliteWriter(file: string): Writer {
  let db: Database.Database | undefined;
  return {
    async execute(sql, values, signal) {
      if (signal.aborted) throw signal.reason;
      const { text: statement, params } = bindNamed(sql, values, 'question');
      db ??= new Database(file, { fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      const bound = params.map((value) =>
        value instanceof Date
          ? value.toISOString()
          : typeof value === 'boolean'
            ? Number(value)
            : (value ?? null),
      );
      const prepared = db.prepare(statement);
      if (prepared.reader) prepared.all(...bound);
      else prepared.run(...bound);
    },
    async close() {
      db?.close();
      db = undefined;
    },
  };
}

// --- errors ------------------------------------------------------------------------------------

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
]);

/**
 * SQLSTATE classes a retry cannot help with: data exceptions (22: too long, bad date), integrity
 * constraints (23: duplicate, not null), syntax or access rules (42: no such table or column, a
 * grant missing), features not supported (0A). Everything else (connections, deadlocks, a server
 * shutting down, a password being changed) is tried again, up to `maxAttempts`.
 */
const PERMANENT_STATES = new Set(['22', '23', '42', '0A', '44']);

/** What the database said, without the values: an error may quote the row or the statement. */
function redact(message: string): string {
  return message
    .replace(/(entry |value: |near )'.*'( for (?:key|column) | at line \d)/gis, "$1'…'$2")
    .replace(/((?:entry|value|near|:)\s*)(['"])(?!…\2).*?\2/gi, '$1$2…$2')
    .replace(/\s+/g, ' ')
    .slice(0, 300);
}

function deliveryError(error: unknown, where: string): DeliveryError {
  const e = (isObject(error) ? error : {}) as {
    code?: unknown;
    sqlState?: unknown;
    severity?: unknown;
    message?: unknown;
    errors?: { message?: string }[];
  };
  const code = typeof e.code === 'string' ? e.code : undefined;
  // mysql2 names the SQLSTATE sqlState; pg's server errors (those with a severity) carry it as code.
  const state =
    typeof e.sqlState === 'string' ? e.sqlState : e.severity !== undefined && code ? code : undefined;
  let permanent: boolean;
  if (state) permanent = PERMANENT_STATES.has(state.slice(0, 2));
  else if (code?.startsWith('SQLITE_'))
    permanent = /^SQLITE_(CONSTRAINT|ERROR|MISMATCH|TOOBIG|RANGE|READONLY)/.test(code);
  else permanent = false;
  const message =
    (typeof e.message === 'string' && e.message) || e.errors?.find((inner) => inner.message)?.message || '';
  const label = [
    code && !CONNECTION_CODES.has(code) ? code : undefined,
    state && state !== code ? state : undefined,
  ]
    .filter(Boolean)
    .join(' ');
  const said = redact(message) || code || 'failed';
  return new DeliveryError(`${where}: ${label && !said.includes(label) ? `${label} ` : ''}${said}`, {
    permanent,
  });
}

// --- the action --------------------------------------------------------------------------------

/**
 * Logs the call in a database, once: the record's key is derived from the delivery id and every
 * statement leaves an existing row alone, so an attempt repeated after a crash (the outbox's
 * at-least-once) changes nothing and answers the same record. With a preset, the rows are the
 * CRM's own (SuiteCRM's Calls, the contact as participant); with a `query`, your statements.
 * vtiger's ids come from its sequence instead: a marker table remembers each delivery's record,
 * written in the same transaction as the record (sql-vtiger.ts).
 */
export function createSqlAction(config: SqlActionConfig, deps: { baseDir: string }): Action {
  const password = readPassword(config, deps.baseDir);
  let where: string;
  let writer: Writer;
  let vtiger: VtigerWriter | undefined;
  if (config.driver === 'sqlite') {
    const file = resolve(deps.baseDir, config.file!);
    where = `sql ${basename(file)}`;
    writer = sqliteWriter(file);
  } else {
    let host = '';
    try {
      host = new URL(config.url!).host;
    } catch {
      // A URL the driver reads in its own way; the driver reports it.
    }
    where = `sql ${config.driver}${host ? ` ${host}` : ''}`;
    if (config.preset === 'vtiger') {
      const own = createVtigerWriter({ url: config.url!, ...(password && { password }) });
      vtiger = own;
      writer = {
        execute: async () => {
          throw new Error('the vtiger preset writes through its transaction');
        },
        close: () => own.close(),
      };
    } else {
      const client = sharedClient(config.driver, {
        url: config.url!,
        ...(password && { password }),
        statementTimeoutMs: config.timeoutMs,
      });
      writer = {
        execute: async (sql, values, signal) => {
          await client.query(sql, values, signal);
        },
        close: () => client.close(),
      };
    }
  }
  const preset = config.preset && config.preset !== 'vtiger' ? callPresets[config.preset] : undefined;
  const base = config.baseUrl?.replace(/\/+$/, '');
  const statements = [config.query ?? []].flat();
  const updates = [config.update ?? []].flat();

  return {
    type: 'sql',
    updates: Boolean(config.preset) || updates.length > 0,
    async run(payload, { signal, deliveryId, update }) {
      if (update && !update.made) {
        throw new DeliveryError(
          `${where}: nothing to update, the first delivery (${update.of}) was not made`,
          { permanent: true },
        );
      }
      // An update's rows are the first delivery's.
      const first = update?.of ?? deliveryId;
      const call = callParameters(payload, deliveryId, {
        ...(config.userId && { userId: config.userId }),
        ...(config.contactSource && { contactSource: config.contactSource }),
        ...(update && { recordOf: update.of }),
      });
      const ids = { link: recordUuid(`${first}/contact`) };
      const work = preset
        ? update
          ? preset.update(call, ids)
          : preset.statements(call, ids)
        : (update ? updates : statements).map((sql) => ({ sql, values: call }));
      const timeout = AbortSignal.timeout(config.timeoutMs);
      const both = AbortSignal.any([signal, timeout]);
      const failed = (error: unknown) => {
        if (signal.aborted) return signal.reason as unknown;
        if (timeout.aborted) return new DeliveryError(`${where}: no answer within ${config.timeoutMs} ms`);
        return deliveryError(error, where);
      };
      if (vtiger && update) {
        const crmid = Number(update.id);
        if (!(crmid > 0)) {
          throw new DeliveryError(`${where}: nothing to update, no vtiger record id`, { permanent: true });
        }
        try {
          await vtiger.update(call, crmid, both);
        } catch (error) {
          throw failed(error);
        }
        return { id: String(crmid), ...(base && { url: vtigerRecordUrl(base, crmid) }) };
      }
      if (vtiger) {
        const owner = vtigerOwner(call, config.userId);
        if (owner === undefined) throw new DeliveryError(`${where}: no vtiger user id`, { permanent: true });
        let crmid: number;
        try {
          crmid = await vtiger.log(call, owner, both);
        } catch (error) {
          throw failed(error);
        }
        return { id: String(crmid), ...(base && { url: vtigerRecordUrl(base, crmid) }) };
      }
      for (const { sql, values } of work) {
        try {
          await writer.execute(sql, values, both);
        } catch (error) {
          throw failed(error);
        }
      }
      const url = config.recordUrl
        ? fill(config.recordUrl, call)
        : preset && base
          ? preset.recordUrl(base, call.recordId)
          : undefined;
      return { id: call.recordId, ...(url && { url }) };
    },
    close: () => writer.close(),
  };
}
