import type pg from 'pg';
import { parseIsoTime } from '../../util/time.js';
import {
  CALL_FIELDS,
  type CallRow,
  loadNumberReader,
  numberSuffix,
  sameNumber,
  toCall,
} from '../call-rows.js';
import type { CallJournal, CallQuery, NewCallRecord } from '../types.js';

/** Rows removed by one DELETE of a purge. */
const PURGE_BATCH = 2000;
/** Rows read at a time by a listing that filters by number (the filter runs here, not in SQL). */
const NUMBER_SCAN = 500;

/**
 * The call journal in the tenant's schema `s` (quoted). Recording is one INSERT ... ON CONFLICT: the
 * same call posted to two instances at once is one row, counted twice.
 */
export function createPostgresCallJournal(
  pool: pg.Pool,
  s: string,
): CallJournal & {
  /** `record` on `client`, inside a transaction of the caller's. */
  readonly recordOn: (client: pg.ClientBase, call: NewCallRecord) => ReturnType<CallJournal['record']>;
} {
  const columns = CALL_FIELDS.map(([, column]) => column);
  const merged = columns.filter((column) => column !== 'status');
  const n = columns.length;
  // A repeat keeps what was known and takes every value the new delivery brings.
  const upsert = `
    INSERT INTO ${s}.calls AS c (id, workflow, ${columns.join(', ')}, inputs, received_count, created_at,
      updated_at, started_at)
    VALUES ($1, $2, ${columns.map((_, i) => `$${i + 3}`).join(', ')}, $${n + 3}::jsonb, 1, $${n + 4}, $${n + 4},
      $${n + 5})
    ON CONFLICT (id) DO UPDATE SET
      ${merged.map((column) => `${column} = COALESCE(excluded.${column}, c.${column})`).join(',\n      ')},
      status = CASE WHEN COALESCE(excluded.answered_time, c.answered_time) IS NULL THEN 'missed' ELSE 'answered' END,
      inputs = ${s}.json_merge_patch(c.inputs, excluded.inputs),
      received_count = c.received_count + 1,
      updated_at = excluded.updated_at,
      started_at = COALESCE($${n + 6}, c.started_at)
    RETURNING *`;

  const recordOn = async (client: pg.ClientBase | pg.Pool, call: NewCallRecord) => {
    const now = new Date().toISOString();
    const started = call.startedTime === undefined ? undefined : parseIsoTime(call.startedTime);
    const { rows } = await client.query<CallRow>(upsert, [
      call.id,
      call.workflow,
      ...CALL_FIELDS.map(([field]) => call[field] ?? null),
      JSON.stringify(call.inputs),
      now,
      started ?? Date.parse(now),
      started ?? null,
    ]);
    const row = rows[0]!;
    return { record: toCall(row), created: row.received_count === 1 };
  };

  return {
    recordOn,
    record: (call) => recordOn(pool, call),
    async get(id) {
      const { rows } = await pool.query<CallRow>(`SELECT * FROM ${s}.calls WHERE id = $1`, [id]);
      return rows[0] && toCall(rows[0]);
    },
    async answer(id, answerId) {
      const { rows } = await pool.query<{ answer_id: string | null }>(
        `UPDATE ${s}.calls SET answer_id = COALESCE(answer_id, $1) WHERE id = $2 RETURNING answer_id`,
        [answerId, id],
      );
      return rows[0]?.answer_id ?? answerId;
    },
    async list(query) {
      const { where, params } = filters(query);
      const select = (extra: string[], values: unknown[], limit: number) =>
        pool.query<CallRow>(
          `SELECT * FROM ${s}.calls${[...where, ...extra].length > 0 ? ` WHERE ${[...where, ...extra].join(' AND ')}` : ''}
            ORDER BY started_at DESC, id DESC LIMIT $${params.length + values.length + 1}`,
          [...params, ...values, limit],
        );
      let rows: CallRow[];
      if (!query.number) {
        // One more than asked: it tells whether there is a next page.
        rows = (await select([], [], query.limit + 1)).rows;
      } else {
        // Numbers are compared as the telephone system sends them, which SQL cannot read: the rows
        // whose digits end right are read a slice at a time, and compared here.
        await loadNumberReader();
        const { key, region } = query.number;
        const suffix = numberSuffix(key);
        // Contains, not ends with: a number written with an extension has more digits after them.
        const like = `%${suffix}%`;
        const digits = (column: string) => `regexp_replace(coalesce(${column}, ''), '[^0-9]', '', 'g')`;
        const near = `(${digits('originator_number')} LIKE $${params.length + 1} OR ${digits('destination_number')} LIKE $${params.length + 1})`;
        rows = [];
        let from: [number, string] | undefined;
        for (;;) {
          const page = (
            await select(
              from ? [near, `(started_at, id) < ($${params.length + 2}, $${params.length + 3})`] : [near],
              from ? [like, from[0], from[1]] : [like],
              NUMBER_SCAN,
            )
          ).rows;
          for (const row of page) {
            if (
              sameNumber(row.originator_number, key, suffix, region) ||
              sameNumber(row.destination_number, key, suffix, region)
            ) {
              rows.push(row);
            }
          }
          const last = page.at(-1);
          if (rows.length > query.limit || page.length < NUMBER_SCAN || !last) break;
          from = [Number(last.started_at), last.id];
        }
      }
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
      let removed = 0;
      for (;;) {
        const { rowCount } = await pool.query(
          `DELETE FROM ${s}.calls WHERE id IN (SELECT id FROM ${s}.calls WHERE started_at < $1 LIMIT $2)`,
          [before, PURGE_BATCH],
        );
        removed += rowCount ?? 0;
        if ((rowCount ?? 0) < PURGE_BATCH) return removed;
      }
    },
  };
}

/** The WHERE terms of a query, numbered from $1; the number filter and the LIMIT excepted. */
function filters(query: CallQuery): { where: string[]; params: unknown[] } {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (term: (at: string) => string, value: unknown) => {
    params.push(value);
    where.push(term(`$${params.length}`));
  };
  const time = (date: Date, name: string) => {
    const ms = date.getTime();
    if (Number.isNaN(ms)) throw new TypeError(`list: invalid "${name}" date`);
    return ms;
  };
  if (query.from) add((at) => `started_at >= ${at}`, time(query.from, 'from'));
  if (query.to) add((at) => `started_at < ${at}`, time(query.to, 'to'));
  if (query.direction) add((at) => `direction = ${at}`, query.direction);
  if (query.status) add((at) => `status = ${at}`, query.status);
  if (query.contactCrmId !== undefined) add((at) => `contact_crm_id = ${at}`, query.contactCrmId);
  if (query.after !== undefined) {
    const cursor = /^(-?\d+)\.(.+)$/s.exec(query.after);
    if (!cursor) throw new TypeError('list: invalid "after" cursor');
    params.push(Number(cursor[1]), cursor[2]);
    where.push(`(started_at, id) < ($${params.length - 1}, $${params.length})`);
  }
  return { where, params };
}
