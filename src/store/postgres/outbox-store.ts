import type pg from 'pg';
import { type DeliveryRow as DeliveryRowOf, toDelivery } from '../delivery-rows.js';
import type {
  Delivery,
  DeliveryStatus,
  NewDelivery,
  OutboxFilter,
  OutboxStore,
  Submission,
} from '../outbox-types.js';
import { inTransaction, lockNames } from './pool.js';

type DeliveryRow = DeliveryRowOf<string, boolean>;

const STATUSES: readonly DeliveryStatus[] = ['pending', 'running', 'done', 'dead'];
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;
const PURGE_BATCH = 2000;
const OPEN = "status IN ('pending', 'running')";

/**
 * The outbox in the tenant's schema `s` (quoted), shared by every instance. Its rules are the
 * embedded store's (src/store/README.md); what one SQLite writer at a time gave there is given here by:
 * - row leases: a claim locks the heads it takes `FOR UPDATE SKIP LOCKED`, so two instances
 *   claiming at once take different deliveries, and neither waits for the other;
 * - an advisory lock per order key, held by every transaction that changes the key's unfinished
 *   deliveries (enqueue, submit, complete, fail, retry, drop), so that the `held` marks stay true
 *   however the instances' transactions interleave.
 */
export function createPostgresOutboxStore(
  pool: pg.Pool,
  s: string,
): OutboxStore & {
  /** `submit` in the caller's transaction, without reading the deliveries back. */
  readonly submitOn: (client: pg.ClientBase, items: readonly Submission[], now: number) => Promise<void>;
  /** `forCall` on `client`. */
  readonly forCallOn: (client: pg.ClientBase, workflow: string, callId: string) => Promise<Delivery[]>;
} {
  const scope = `callcard.outbox${s}`;
  const table = `${s}.deliveries`;

  const insertOne = (
    client: pg.ClientBase,
    item: NewDelivery & { version?: number },
    now: number,
    fields: { id?: string; updateOf?: string } = {},
  ) =>
    client.query(
      `INSERT INTO ${table} (id, workflow, call_id, action, action_type, order_key, payload, status, attempts,
         max_attempts, next_at, held, update_of, version, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $9,
         EXISTS (SELECT 1 FROM ${table} WHERE order_key = $6 AND ${OPEN}), $10, $11, $9, $9)
       ON CONFLICT (id) DO NOTHING`,
      [
        fields.id ?? item.id,
        item.workflow,
        item.callId,
        item.action,
        item.actionType,
        item.orderKey,
        JSON.stringify(item.payload),
        Math.max(1, Math.floor(item.maxAttempts)),
        now,
        fields.updateOf ?? item.updateOf ?? null,
        item.version ?? 0,
      ],
    );

  /** The deliveries of `ids` as stored, in that order. */
  const readBack = async (client: pg.ClientBase, ids: readonly string[]): Promise<Delivery[]> => {
    const { rows } = await client.query<DeliveryRow>(`SELECT * FROM ${table} WHERE id = ANY($1::text[])`, [
      [...new Set(ids)],
    ]);
    const byId = new Map(rows.map((row) => [row.id, toDelivery(row)]));
    return ids.map((id) => byId.get(id)!);
  };

  // After a delivery of the key finished (or was dropped): its earliest unfinished one may run.
  const releaseHead = (client: pg.ClientBase, key: string) =>
    client.query(
      `UPDATE ${table} SET held = false
        WHERE seq = (SELECT min(seq) FROM ${table} WHERE order_key = $1 AND ${OPEN}) AND held`,
      [key],
    );

  /**
   * Runs `work` on the delivery `id` in a transaction that holds its order key's lock; undefined
   * (false for the caller) when there is no such delivery.
   */
  const withKeyOf = async (id: string, work: (client: pg.PoolClient, key: string) => Promise<boolean>) =>
    inTransaction(pool, async (client) => {
      const { rows } = await client.query<{ order_key: string }>(
        `SELECT order_key FROM ${table} WHERE id = $1`,
        [id],
      );
      const key = rows[0]?.order_key;
      if (key === undefined) return false;
      await lockNames(client, scope, [key]);
      return work(client, key);
    });

  /** Adds or brings up to date each delivery, in the caller's transaction (its keys locked here). */
  const submitOn = async (client: pg.ClientBase, items: readonly Submission[], now: number) => {
    if (items.length === 0) return;
    await lockNames(
      client,
      scope,
      items.map((item) => item.orderKey),
    );
    for (const item of items) {
      // The latest of the first delivery and its updates, and how many updates there are.
      const { rows } = await client.query<DeliveryRow & { chain: string }>(
        `SELECT *, (SELECT count(*) FROM ${table} WHERE update_of = $1) AS chain FROM ${table}
          WHERE seq = (SELECT max(seq) FROM ${table} WHERE id = $1 OR update_of = $1)`,
        [item.id],
      );
      const latest = rows[0];
      if (!latest) {
        await insertOne(client, item, now);
        continue;
      }
      const payload = JSON.stringify(item.payload);
      // An earlier post of the call, whose submit comes last: what is there already knows more.
      if (item.version < latest.version || latest.payload === payload) continue;
      if (latest.status === 'pending' || latest.status === 'dead') {
        // Not made yet: its next attempt carries the call as it is now.
        await client.query(`UPDATE ${table} SET payload = $1, version = $2, updated_at = $3 WHERE seq = $4`, [
          payload,
          item.version,
          now,
          latest.seq,
        ]);
      } else if (item.updates) {
        // Being made or made with what the call was: the change follows as an update, behind it.
        await insertOne(client, item, now, {
          id: `${item.id}:update:${Number(latest.chain) + 1}`,
          updateOf: item.id,
        });
      }
    }
  };
  const forCallOn = async (client: pg.ClientBase | pg.Pool, workflow: string, callId: string) => {
    const { rows } = await client.query<DeliveryRow>(
      `SELECT * FROM ${table} WHERE workflow = $1 AND call_id = $2 ORDER BY action, seq`,
      [workflow, callId],
    );
    return rows.map(toDelivery);
  };

  return {
    async enqueue(items, now) {
      if (items.length === 0) return [];
      return inTransaction(pool, async (client) => {
        await lockNames(
          client,
          scope,
          items.map((item) => item.orderKey),
        );
        for (const item of items) await insertOne(client, item, now);
        // Read back inside the transaction: what is answered is what the first writer stored.
        return readBack(
          client,
          items.map((item) => item.id),
        );
      });
    },
    submitOn,
    forCallOn,
    async submit(items: readonly Submission[], now) {
      if (items.length === 0) return [];
      return inTransaction(pool, async (client) => {
        await submitOn(client, items, now);
        return readBack(
          client,
          items.map((item) => item.id),
        );
      });
    },
    async claim(worker, now, leaseMs, limit) {
      if (limit <= 0) return [];
      return inTransaction(pool, async (client) => {
        // The due heads, each locked by this claim; those another claim holds are passed over.
        const { rows } = await client.query<DeliveryRow>(
          `SELECT * FROM ${table} AS d
            WHERE d.${OPEN} AND NOT d.held AND d.next_at <= $1
              AND NOT EXISTS (
                SELECT 1 FROM ${table} AS e WHERE e.order_key = d.order_key AND e.seq < d.seq AND e.${OPEN}
              )
            ORDER BY d.next_at, d.seq
            LIMIT $2
            FOR UPDATE OF d SKIP LOCKED`,
          [now, limit],
        );
        const take: string[] = [];
        for (const row of rows) {
          if (row.status === 'running' && row.attempts >= row.max_attempts) {
            // Its worker died during the last attempt allowed: no attempt is left to give it. Its
            // key's lock is only tried (a worker writing back may hold it): else the next claim ends it.
            const { rows: got } = await client.query<{ ok: boolean }>(
              `SELECT pg_try_advisory_xact_lock(hashtextextended($1 || chr(31) || $2, 0)) AS ok`,
              [scope, row.order_key],
            );
            if (!got[0]!.ok) continue;
            await client.query(
              `UPDATE ${table} SET status = 'dead', locked_by = NULL, locked_until = NULL, next_at = $1,
                 last_error = 'lease ran out during the last attempt (the worker stopped)', updated_at = $1
               WHERE seq = $2`,
              [now, row.seq],
            );
            await releaseHead(client, row.order_key);
            continue;
          }
          take.push(row.seq);
        }
        if (take.length === 0) return [];
        const { rows: leased } = await client.query<DeliveryRow>(
          `UPDATE ${table} SET status = 'running', attempts = attempts + 1, locked_by = $1,
             locked_until = $2, next_at = $2, updated_at = $3
           WHERE seq = ANY($4::bigint[])
           RETURNING *`,
          [worker, now + leaseMs, now, take],
        );
        // In the order they were due.
        const bySeq = new Map(leased.map((row) => [row.seq, toDelivery(row)]));
        return take.map((seq) => bySeq.get(seq)!);
      });
    },
    async complete(id, worker, result, now) {
      return withKeyOf(id, async (client, key) => {
        const { rows } = await client.query<{ workflow: string; action: number }>(
          `UPDATE ${table} SET status = 'done', locked_by = NULL, locked_until = NULL, result_id = $1,
             result_url = $2, updated_at = $3
           WHERE id = $4 AND status = 'running' AND locked_by = $5
           RETURNING workflow, action`,
          [result.id ?? null, result.url ?? null, now, id, worker],
        );
        const done = rows[0];
        if (!done) return false;
        await releaseHead(client, key);
        // Its target has just taken a delivery: the pending retries of the same workflow action
        // (waiting out a backoff, maybe an hour) are due now, in the same transaction.
        await client.query(
          `UPDATE ${table} SET next_at = $1
            WHERE status = 'pending' AND workflow = $2 AND action = $3 AND attempts > 0 AND next_at > $1`,
          [now, done.workflow, done.action],
        );
        return true;
      });
    },
    async renew(id, worker, leaseMs, now) {
      const { rowCount } = await pool.query(
        `UPDATE ${table} SET locked_until = $1, next_at = $1
          WHERE id = $2 AND status = 'running' AND locked_by = $3`,
        [now + leaseMs, id, worker],
      );
      return (rowCount ?? 0) > 0;
    },
    async reclaim(instance, worker, now) {
      const prefix = `${instance}:`;
      const { rowCount } = await pool.query(
        `UPDATE ${table} SET locked_until = $1, next_at = $1
          WHERE status = 'running' AND left(locked_by, length($2)) = $2 AND locked_by <> $3 AND next_at > $1`,
        [now, prefix, worker],
      );
      return rowCount ?? 0;
    },
    async fail(id, worker, error, retryAt, now) {
      return withKeyOf(id, async (client, key) => {
        const { rows } = await client.query<{ status: DeliveryStatus }>(
          `UPDATE ${table} SET status = CASE WHEN $1::bigint IS NULL THEN 'dead' ELSE 'pending' END,
             next_at = COALESCE($1::bigint, $2), locked_by = NULL, locked_until = NULL, last_error = $3,
             updated_at = $2
           WHERE id = $4 AND status = 'running' AND locked_by = $5
           RETURNING status`,
          [retryAt ?? null, now, error, id, worker],
        );
        if (!rows[0]) return false;
        if (rows[0].status === 'dead') await releaseHead(client, key);
        return true;
      });
    },
    async get(id) {
      const { rows } = await pool.query<DeliveryRow>(`SELECT * FROM ${table} WHERE id = $1`, [id]);
      return rows[0] && toDelivery(rows[0]);
    },
    forCall: (workflow, callId) => forCallOn(pool, workflow, callId),
    async list(filter: OutboxFilter) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.status !== undefined) {
        const statuses: readonly DeliveryStatus[] =
          typeof filter.status === 'string' ? [filter.status] : filter.status;
        if (statuses.length === 0) return [];
        params.push(statuses);
        where.push(`status = ANY($${params.length}::text[])`);
      }
      if (filter.workflow !== undefined) {
        params.push(filter.workflow);
        where.push(`workflow = $${params.length}`);
      }
      const limit = Math.min(MAX_LIMIT, Math.max(1, Math.floor(filter.limit ?? DEFAULT_LIMIT)));
      params.push(limit);
      const { rows } = await pool.query<DeliveryRow>(
        `SELECT * FROM ${table}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}
          ORDER BY seq LIMIT $${params.length}`,
        params,
      );
      return rows.map(toDelivery);
    },
    async counts() {
      const result = Object.fromEntries(STATUSES.map((status) => [status, 0])) as Record<
        DeliveryStatus,
        number
      >;
      const { rows } = await pool.query<{ status: DeliveryStatus; n: string }>(
        `SELECT status, count(*) AS n FROM ${table} GROUP BY status`,
      );
      for (const row of rows) result[row.status] = Number(row.n);
      return result;
    },
    async purge(olderThan) {
      let removed = 0;
      for (;;) {
        const { rowCount } = await pool.query(
          `DELETE FROM ${table} WHERE seq IN (
             SELECT seq FROM ${table} WHERE status IN ('done', 'dead') AND updated_at < $1 LIMIT $2)`,
          [olderThan, PURGE_BATCH],
        );
        removed += rowCount ?? 0;
        if ((rowCount ?? 0) < PURGE_BATCH) return removed;
      }
    },
    async retry(id, now) {
      return withKeyOf(id, async (client, key) => {
        const { rowCount } = await client.query(
          `UPDATE ${table} SET status = 'pending', attempts = 0, next_at = $1, updated_at = $1
            WHERE id = $2 AND status IN ('pending', 'dead')`,
          [now, id],
        );
        if (!rowCount) return false;
        // One brought back may come before unfinished ones of its key: they wait for it again.
        await client.query(
          `UPDATE ${table}
              SET held = seq <> (SELECT min(seq) FROM ${table} WHERE order_key = $1 AND ${OPEN})
            WHERE order_key = $1 AND ${OPEN}`,
          [key],
        );
        return true;
      });
    },
    async drop(id) {
      return withKeyOf(id, async (client, key) => {
        const { rowCount } = await client.query(
          `DELETE FROM ${table} WHERE id = $1 AND status <> 'running'`,
          [id],
        );
        if (!rowCount) return false;
        await releaseHead(client, key);
        return true;
      });
    },
  };
}
