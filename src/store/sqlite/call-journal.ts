import type Database from 'better-sqlite3';
import { parseIsoTime } from '../../util/time.js';
import {
  CALL_FIELDS,
  type CallRow,
  loadNumberReader,
  numberSuffix,
  sameNumber,
  toCall,
} from '../call-rows.js';
import type { CallJournal, CallQuery, CallRecord, NewCallRecord } from '../types.js';
import type { Write } from './group-commit.js';
import { purgeInBatches } from './purge.js';

/** `CallJournal.record` at once, for a transaction that writes more than the call. */
export type RecordCall = (call: NewCallRecord) => { readonly record: CallRecord; readonly created: boolean };

/** The call journal: one row per call and workflow, completed by later deliveries of the same call. */
/** `write` runs each change in a write transaction (the store's group commit); at once by default. */
export function createCallJournal(
  db: Database.Database,
  write: Write = async (work) => work(),
): CallJournal & { readonly recordRow: RecordCall } {
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

  const recordRow: RecordCall = (call) => {
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
  };

  return {
    recordRow,
    async record(call) {
      return write(() => recordRow(call));
    },
    async get(id) {
      const row = byId.get(id);
      return row && toCall(row);
    },
    async answer(id, answerId) {
      return write(() => keepAnswer.get(answerId, id)?.answer_id ?? answerId);
    },
    async list(query) {
      if (query.number) await loadNumberReader();
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
    const suffix = numberSuffix(key);
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
