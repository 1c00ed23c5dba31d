import type Database from 'better-sqlite3';
import { type DeliveryRow, toDelivery } from '../delivery-rows.js';
import type {
  Delivery,
  DeliveryResult,
  DeliveryStatus,
  NewDelivery,
  OutboxFilter,
  OutboxStore,
  Submission,
} from '../outbox-types.js';
import type { Write } from './group-commit.js';
import { purgeInBatches } from './purge.js';

const STATUSES: readonly DeliveryStatus[] = ['pending', 'running', 'done', 'dead'];

/** Rows answered by `list` when the filter sets no limit, and at most. */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

const OPEN = "status IN ('pending', 'running')";

/** What the calls database's other writers use inside a transaction of their own. */
export interface OutboxRows {
  /** `OutboxStore.submit` without its transaction and without reading the deliveries back. */
  submitRows(items: readonly Submission[], now: number): void;
  /** `OutboxStore.forCall`, at once. */
  forCallRows(workflow: string, callId: string): Delivery[];
}

/**
 * The outbox in the calls database; its design (one writer, order, leases): src/store/README.md.
 * `write` runs each change in a write transaction (the store's group commit); at once by default.
 */
export function createOutboxStore(
  db: Database.Database,
  write: Write = async (work) => work(),
): OutboxStore & OutboxRows {
  const insert = db.prepare(`
    INSERT OR IGNORE INTO deliveries (id, workflow, call_id, action, action_type, order_key, payload, status,
      attempts, max_attempts, next_at, held, update_of, version, created_at, updated_at)
    VALUES (@id, @workflow, @callId, @action, @actionType, @orderKey, @payload, 'pending', 0, @maxAttempts, @now,
      EXISTS (SELECT 1 FROM deliveries WHERE order_key = @orderKey AND ${OPEN}), @updateOf, @version, @now, @now)`);
  // The latest of a first delivery and its updates, and how many there are.
  const latestOf = db.prepare<{ id: string }, DeliveryRow & { chain: number }>(`
    SELECT *, (SELECT COUNT(*) FROM deliveries WHERE update_of = @id) AS chain FROM deliveries
    WHERE seq = (SELECT MAX(seq) FROM deliveries WHERE id = @id OR update_of = @id)`);
  const setPayload = db.prepare<{ seq: number; payload: string; version: number; now: number }>(
    'UPDATE deliveries SET payload = @payload, version = @version, updated_at = @now WHERE seq = @seq',
  );
  const byId = db.prepare<[string], DeliveryRow>('SELECT * FROM deliveries WHERE id = ?');
  const byCall = db.prepare<[string, string], DeliveryRow>(
    'SELECT * FROM deliveries WHERE workflow = ? AND call_id = ? ORDER BY action, seq',
  );
  const dueHeads = db.prepare<{ now: number; limit: number }, DeliveryRow>(`
    SELECT * FROM deliveries AS d INDEXED BY deliveries_ready
    WHERE d.${OPEN} AND d.held = 0 AND d.next_at <= @now
      AND NOT EXISTS (
        SELECT 1 FROM deliveries AS e WHERE e.order_key = d.order_key AND e.seq < d.seq AND e.${OPEN}
      )
    ORDER BY d.next_at, d.seq
    LIMIT @limit`);
  // After a delivery of the key finished (or was dropped): its earliest unfinished one may run.
  const releaseHead = db.prepare<{ key: string }>(`
    UPDATE deliveries SET held = 0
    WHERE seq = (SELECT MIN(seq) FROM deliveries WHERE order_key = @key AND ${OPEN}) AND held = 1`);
  // After a finished one was brought back: all but the key's earliest unfinished one wait.
  const reorder = db.prepare<{ key: string }>(`
    UPDATE deliveries
    SET held = seq <> (SELECT MIN(seq) FROM deliveries WHERE order_key = @key AND ${OPEN})
    WHERE order_key = @key AND ${OPEN}`);
  const lease = db.prepare<{ seq: number; worker: string; until: number; now: number }, DeliveryRow>(`
    UPDATE deliveries SET status = 'running', attempts = attempts + 1, locked_by = @worker,
      locked_until = @until, next_at = @until, updated_at = @now
    WHERE seq = @seq
    RETURNING *`);
  const expire = db.prepare<{ seq: number; now: number }>(`
    UPDATE deliveries SET status = 'dead', locked_by = NULL, locked_until = NULL, next_at = @now,
      last_error = 'lease ran out during the last attempt (the worker stopped)', updated_at = @now
    WHERE seq = @seq`);
  const complete = db.prepare<
    Record<string, unknown>,
    { order_key: string; workflow: string; action: number }
  >(`
    UPDATE deliveries SET status = 'done', locked_by = NULL, locked_until = NULL, result_id = @resultId,
      result_url = @resultUrl, updated_at = @now
    WHERE id = @id AND status = 'running' AND locked_by = @worker
    RETURNING order_key, workflow, action`);
  const fail = db.prepare<Record<string, unknown>, { order_key: string; status: DeliveryStatus }>(`
    UPDATE deliveries SET status = CASE WHEN @retryAt IS NULL THEN 'dead' ELSE 'pending' END,
      next_at = COALESCE(@retryAt, @now), locked_by = NULL, locked_until = NULL, last_error = @error,
      updated_at = @now
    WHERE id = @id AND status = 'running' AND locked_by = @worker
    RETURNING order_key, status`);
  // The worker still runs it: its lease (and so the row's next_at) moves on.
  const renew = db.prepare<{ id: string; worker: string; until: number; now: number }>(`
    UPDATE deliveries SET locked_until = @until, next_at = @until
    WHERE id = @id AND status = 'running' AND locked_by = @worker`);
  // Leases of an earlier run of this instance (their worker is gone): they run out now.
  const reclaim = db.prepare<{ prefix: string; worker: string; now: number }>(`
    UPDATE deliveries SET locked_until = @now, next_at = @now
    WHERE status = 'running' AND substr(locked_by, 1, length(@prefix)) = @prefix AND locked_by <> @worker
      AND next_at > @now`);
  const retry = db.prepare<{ id: string; now: number }, { order_key: string }>(`
    UPDATE deliveries SET status = 'pending', attempts = 0, next_at = @now, updated_at = @now
    WHERE id = @id AND status IN ('pending', 'dead')
    RETURNING order_key`);
  const drop = db.prepare<[string], { order_key: string }>(
    "DELETE FROM deliveries WHERE id = ? AND status <> 'running' RETURNING order_key",
  );
  const counts = db.prepare<[], { status: DeliveryStatus; n: number }>(
    'SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status',
  );
  const purgeBatch = db.prepare<[number, number]>(`
    DELETE FROM deliveries WHERE seq IN (
      SELECT seq FROM deliveries INDEXED BY deliveries_finished
      WHERE status IN ('done', 'dead') AND updated_at < ? LIMIT ?)`);

  const insertOne = (
    item: NewDelivery & { version?: number },
    now: number,
    fields: { id?: string; updateOf?: string } = {},
  ) =>
    insert.run({
      id: fields.id ?? item.id,
      workflow: item.workflow,
      callId: item.callId,
      action: item.action,
      actionType: item.actionType,
      orderKey: item.orderKey,
      payload: JSON.stringify(item.payload),
      maxAttempts: Math.max(1, Math.floor(item.maxAttempts)),
      updateOf: fields.updateOf ?? item.updateOf ?? null,
      version: item.version ?? 0,
      now,
    });

  const enqueueAll = db.transaction((items: readonly NewDelivery[], now: number) => {
    for (const item of items) insertOne(item, now);
    // Read back inside the transaction: what is answered is what the first writer stored.
    return items.map((item) => toDelivery(byId.get(item.id)!));
  });

  /** Adds or brings up to date each delivery; the caller holds the write transaction. */
  const submitRows = (items: readonly Submission[], now: number): void => {
    for (const item of items) {
      const latest = latestOf.get({ id: item.id });
      if (!latest) {
        insertOne(item, now);
        continue;
      }
      const payload = JSON.stringify(item.payload);
      // An earlier post of the call, whose submit comes last: what is there already knows more.
      if (item.version < latest.version || latest.payload === payload) continue;
      if (latest.status === 'pending' || latest.status === 'dead') {
        // Not made yet: its next attempt (or a retry from `callcard outbox`) carries the call as it is now.
        setPayload.run({ seq: latest.seq, payload, version: item.version, now });
      } else if (item.updates) {
        // Being made or made with what the call was: the change follows as an update, behind it.
        insertOne(item, now, { id: `${item.id}:update:${latest.chain + 1}`, updateOf: item.id });
      }
    }
  };
  const submitAll = db.transaction((items: readonly Submission[], now: number) => {
    submitRows(items, now);
    return items.map((item) => toDelivery(byId.get(item.id)!));
  });

  const claimDue = db.transaction((worker: string, now: number, leaseMs: number, limit: number) => {
    const leased: Delivery[] = [];
    for (const row of dueHeads.all({ now, limit })) {
      if (row.status === 'running' && row.attempts >= row.max_attempts) {
        // Its worker died during the last attempt allowed: no attempt is left to give it.
        expire.run({ seq: row.seq, now });
        releaseHead.run({ key: row.order_key });
        continue;
      }
      leased.push(toDelivery(lease.get({ seq: row.seq, worker, until: now + leaseMs, now })!));
    }
    return leased;
  });

  const expediteRetries = db.prepare(
    `UPDATE deliveries SET next_at = ?
      WHERE status = 'pending' AND workflow = ? AND action = ? AND attempts > 0 AND next_at > ?`,
  );

  // A finished or dropped delivery may have been its key's head: the next one may then run.
  // Its target has just taken a delivery: the pending retries of the same workflow action (waiting
  // out a backoff, maybe an hour) are due now, in the same transaction.
  const completeOne = db.transaction((params: Record<string, unknown>) => {
    const row = complete.get(params);
    if (!row) return false;
    releaseHead.run({ key: row.order_key });
    expediteRetries.run(params['now'], row.workflow, row.action, params['now']);
    return true;
  });
  const failOne = db.transaction((params: Record<string, unknown>) => {
    const row = fail.get(params);
    if (row?.status === 'dead') releaseHead.run({ key: row.order_key });
    return row !== undefined;
  });
  const dropOne = db.transaction((id: string) => {
    const row = drop.get(id);
    if (row) releaseHead.run({ key: row.order_key });
    return row !== undefined;
  });
  // One brought back may come before unfinished ones of its key: they wait for it again.
  const retryOne = db.transaction((params: { id: string; now: number }) => {
    const row = retry.get(params);
    if (row) reorder.run({ key: row.order_key });
    return row !== undefined;
  });

  const forCallRows = (workflow: string, callId: string) => byCall.all(workflow, callId).map(toDelivery);

  return {
    submitRows,
    forCallRows,
    async enqueue(items, now) {
      if (items.length === 0) return [];
      return write(() => enqueueAll.immediate(items, now));
    },
    async submit(items, now) {
      if (items.length === 0) return [];
      return write(() => submitAll.immediate(items, now));
    },
    async claim(worker, now, leaseMs, limit) {
      if (limit <= 0) return [];
      return write(() => claimDue.immediate(worker, now, leaseMs, limit));
    },
    async complete(id, worker, result: DeliveryResult, now) {
      const params = { id, worker, resultId: result.id ?? null, resultUrl: result.url ?? null, now };
      return write(() => completeOne.immediate(params));
    },
    async renew(id, worker, leaseMs, now) {
      return write(() => renew.run({ id, worker, until: now + leaseMs, now }).changes > 0);
    },
    async reclaim(instance, worker, now) {
      return write(() => reclaim.run({ prefix: `${instance}:`, worker, now }).changes);
    },
    async fail(id, worker, error, retryAt, now) {
      return write(() => failOne.immediate({ id, worker, error, retryAt: retryAt ?? null, now }));
    },
    async get(id) {
      const row = byId.get(id);
      return row && toDelivery(row);
    },
    async forCall(workflow, callId) {
      return forCallRows(workflow, callId);
    },
    async list(filter: OutboxFilter) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.status !== undefined) {
        const statuses: readonly DeliveryStatus[] =
          typeof filter.status === 'string' ? [filter.status] : filter.status;
        if (statuses.length === 0) return [];
        where.push(`status IN (${statuses.map(() => '?').join(', ')})`);
        params.push(...statuses);
      }
      if (filter.workflow !== undefined) {
        where.push('workflow = ?');
        params.push(filter.workflow);
      }
      const limit = Math.min(MAX_LIMIT, Math.max(1, Math.floor(filter.limit ?? DEFAULT_LIMIT)));
      const sql = `SELECT * FROM deliveries${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}
        ORDER BY seq LIMIT ${limit}`;
      return db
        .prepare<unknown[], DeliveryRow>(sql)
        .all(...params)
        .map(toDelivery);
    },
    async counts() {
      const result = Object.fromEntries(STATUSES.map((status) => [status, 0])) as Record<
        DeliveryStatus,
        number
      >;
      for (const row of counts.all()) result[row.status] = row.n;
      return result;
    },
    async purge(olderThan) {
      return purgeInBatches(purgeBatch, olderThan);
    },
    async retry(id, now) {
      return write(() => retryOne.immediate({ id, now }));
    },
    async drop(id) {
      return write(() => dropOne.immediate(id));
    },
  };
}
