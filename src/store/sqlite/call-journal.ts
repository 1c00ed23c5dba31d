import type Database from 'better-sqlite3';
import type { CountryCode } from 'libphonenumber-js/max';
import { cleanNumber } from '../../phone/clean.js';
import { parseIsoTime } from '../../util/time.js';
import type { CallJournal, CallQuery, CallRecord, NewCallRecord } from '../types.js';
import { purgeInBatches } from './purge.js';

interface CallRow {
  id: string;
  workflow: string;
  direction: 'incoming' | 'outgoing' | null;
  status: 'answered' | 'missed';
  contact_crm_id: string | null;
  user_crm_id: string | null;
  originator_number: string | null;
  originator_name: string | null;
  destination_number: string | null;
  destination_name: string | null;
  started_time: string | null;
  answered_time: string | null;
  ended_time: string | null;
  declined_time: string | null;
  duration_seconds: number | null;
  inputs: string;
  received_count: number;
  created_at: string;
  updated_at: string;
  started_at: number | null;
}

const CALL_FIELDS = [
  ['direction', 'direction'],
  ['status', 'status'],
  ['contactCrmId', 'contact_crm_id'],
  ['userCrmId', 'user_crm_id'],
  ['originatorNumber', 'originator_number'],
  ['originatorName', 'originator_name'],
  ['destinationNumber', 'destination_number'],
  ['destinationName', 'destination_name'],
  ['startedTime', 'started_time'],
  ['answeredTime', 'answered_time'],
  ['endedTime', 'ended_time'],
  ['declinedTime', 'declined_time'],
  ['durationSeconds', 'duration_seconds'],
] as const satisfies readonly (readonly [keyof NewCallRecord, keyof CallRow])[];

/** The call journal: one row per call and workflow, completed by later deliveries of the same call. */
export function createCallJournal(db: Database.Database): CallJournal {
  const columns = CALL_FIELDS.map(([, column]) => column);
  const merged = columns.filter((column) => column !== 'status');
  // A repeat keeps what was known and takes every value the new delivery brings.
  // started_at: the start time when this delivery brings one (the last "?"), else what is known.
  const upsert = db.prepare<unknown[], CallRow>(`
    INSERT INTO calls (id, workflow, ${columns.join(', ')}, inputs, received_count, created_at, updated_at,
      started_at)
    VALUES (?, ?, ${columns.map(() => '?').join(', ')}, ?, 1, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET
      ${merged.map((c) => `${c} = COALESCE(excluded.${c}, ${c})`).join(',\n      ')},
      status = CASE WHEN COALESCE(excluded.answered_time, answered_time) IS NULL THEN 'missed' ELSE 'answered' END,
      inputs = json_patch(inputs, excluded.inputs),
      received_count = received_count + 1,
      updated_at = excluded.updated_at,
      started_at = COALESCE(?, started_at)
    RETURNING *`);
  const byId = db.prepare<[string], CallRow>('SELECT * FROM calls WHERE id = ?');
  const keepAnswer = db.prepare<[string, string], { answer_id: string | null }>(
    'UPDATE calls SET answer_id = COALESCE(answer_id, ?) WHERE id = ? RETURNING answer_id',
  );
  const purgeBatch = db.prepare<[number, number]>(
    'DELETE FROM calls WHERE rowid IN (SELECT rowid FROM calls WHERE started_at < ? LIMIT ?)',
  );
  db.function('callcard_same_number', { deterministic: true }, sameNumber);
  // One statement per combination of filters used, prepared once.
  const listings = new Map<string, Database.Statement<unknown[], CallRow>>();

  return {
    async record(call) {
      const now = new Date().toISOString();
      const started = call.startedTime === undefined ? undefined : parseIsoTime(call.startedTime);
      const row = upsert.get(
        call.id,
        call.workflow,
        ...CALL_FIELDS.map(([field]) => call[field] ?? null),
        JSON.stringify(call.inputs),
        now,
        now,
        started ?? Date.parse(now),
        started ?? null,
      )!;
      return { record: toCall(row), created: row.received_count === 1 };
    },
    async get(id) {
      const row = byId.get(id);
      return row && toCall(row);
    },
    async answer(id, answerId) {
      return keepAnswer.get(answerId, id)?.answer_id ?? answerId;
    },
    async list(query) {
      if (query.number) numberReader ??= await import('../../phone/keys.js');
      const { sql, params } = listing(query);
      let statement = listings.get(sql);
      if (!statement) {
        statement = db.prepare<unknown[], CallRow>(sql);
        listings.set(sql, statement);
      }
      // One more than asked: it tells whether there is a next page.
      const rows = statement.all(...params, query.limit + 1);
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return {
        calls: page.map(toCall),
        ...(rows.length > query.limit && last && { next: `${last.started_at}.${last.id}` }),
      };
    },
    async purge(olderThan) {
      const before = olderThan.getTime();
      if (Number.isNaN(before)) throw new TypeError('purge: invalid date');
      return purgeInBatches(purgeBatch, before);
    },
  };
}

/** Epoch ms of a call's time: its start as sent, or when it was first recorded. */
export function callTime(startedTime: string | null | undefined, createdAt: string): number {
  return (startedTime ? parseIsoTime(startedTime) : undefined) ?? Date.parse(createdAt);
}

/** The SELECT for a query; its parameters, the LIMIT's excepted. */
function listing(query: CallQuery): { sql: string; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const time = (date: Date, name: string) => {
    const ms = date.getTime();
    if (Number.isNaN(ms)) throw new TypeError(`list: invalid "${name}" date`);
    return ms;
  };
  if (query.from) {
    where.push('started_at >= ?');
    params.push(time(query.from, 'from'));
  }
  if (query.to) {
    where.push('started_at < ?');
    params.push(time(query.to, 'to'));
  }
  if (query.direction) {
    where.push('direction = ?');
    params.push(query.direction);
  }
  if (query.status) {
    where.push('status = ?');
    params.push(query.status);
  }
  if (query.contactCrmId !== undefined) {
    where.push('contact_crm_id = ?');
    params.push(query.contactCrmId);
  }
  if (query.number) {
    const { key, region } = query.number;
    const suffix = key.replace(/^[+#]/, '').slice(-NUMBER_SUFFIX);
    where.push(
      '(callcard_same_number(originator_number, ?, ?, ?) OR callcard_same_number(destination_number, ?, ?, ?))',
    );
    params.push(key, suffix, region, key, suffix, region);
  }
  if (query.after !== undefined) {
    const cursor = /^(-?\d+)\.(.+)$/s.exec(query.after);
    if (!cursor) throw new TypeError('list: invalid "after" cursor');
    where.push('(started_at, id) < (?, ?)');
    params.push(Number(cursor[1]), cursor[2]);
  }
  const sql =
    `SELECT * FROM calls${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}` +
    ' ORDER BY started_at DESC, id DESC LIMIT ?';
  return { sql, params };
}

/**
 * Trailing digits compared before a number is parsed. Whatever form a number takes (international,
 * "00", national with trunk prefix, "(0)"), the last digits of its E.164 key stay its last digits:
 * only what is before them changes. So a stored number whose digits do not end with them cannot have
 * the key, and most rows are passed over without parsing.
 */
const NUMBER_SUFFIX = 7;

/**
 * Number parsing (libphonenumber), loaded by the first listing that filters by number: commands that
 * open the store for anything else do not load it.
 */
let numberReader: typeof import('../../phone/keys.js') | undefined;

/** SQL function: 1 when `raw`, read as the telephone system sends numbers, has `key`. */
function sameNumber(raw: unknown, key: unknown, suffix: unknown, region: unknown): number {
  if (typeof raw !== 'string' || typeof key !== 'string' || typeof suffix !== 'string') return 0;
  if (!cleanNumber(raw).digits.endsWith(suffix)) return 0;
  if (!numberReader) throw new Error('callcard_same_number: number reading is not loaded');
  return numberReader.incomingKey(raw, region as CountryCode) === key ? 1 : 0;
}

function toCall(row: CallRow): CallRecord {
  const record: Record<string, unknown> = {
    id: row.id,
    workflow: row.workflow,
    inputs: JSON.parse(row.inputs),
    receivedCount: row.received_count,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  for (const [field, column] of CALL_FIELDS) {
    const value = row[column];
    if (value !== null) record[field] = value;
  }
  return record as unknown as CallRecord;
}
