import type { SecretStore, Store } from '../types.js';
import { createPostgresAdminStore } from './admin-store.js';
import { createPostgresCallJournal } from './call-journal.js';
import { createPostgresContactStore } from './contact-store.js';
import { createPostgresCredentialStore } from './credential-store.js';
import { migratePostgres } from './migrations.js';
import { createPostgresOutboxStore } from './outbox-store.js';
import { ident, inTransaction, type PostgresSettings, sharedPool, whileLocked } from './pool.js';

export type { PostgresSettings } from './pool.js';

/**
 * A task counts as run this period when it ran less than 90% of a period ago: the schedules of the
 * instances, each started at its own time, then run it once a period between them.
 */
const ONCE_SLACK = 0.9;

/**
 * The shared store: every table in the tenant's schema of a PostgreSQL database, so that any number
 * of instances serve the tenant from the same data. The schema is brought up to date first
 * (migrations.ts), by the first instance to get there.
 */
export async function openPostgresStore(settings: PostgresSettings): Promise<Store> {
  const { pool, release } = sharedPool(settings);
  const s = ident(settings.schema);
  try {
    await migratePostgres(pool, settings.schema);
  } catch (error) {
    await release();
    throw error;
  }
  const contacts = createPostgresContactStore(pool, s);
  const secrets: SecretStore = {
    async ensure(name, make) {
      // The first instance to get here keeps its value; every other one reads that value.
      const made = await pool.query<{ value: string }>(
        `INSERT INTO ${s}.secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING value`,
        [name, make()],
      );
      const keptIn = `PostgreSQL, schema ${settings.schema}`;
      if (made.rows[0]) return { value: made.rows[0].value, created: true, keptIn };
      const { rows } = await pool.query<{ value: string }>(`SELECT value FROM ${s}.secrets WHERE name = $1`, [
        name,
      ]);
      return { value: rows[0]!.value, created: false, keptIn };
    },
    async write(name, value) {
      await pool.query(
        `INSERT INTO ${s}.secrets (name, value) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
        [name, value],
      );
    },
  };
  const once: NonNullable<Store['once']> = async (task, periodMs, work, now = Date.now) => {
    const done = await whileLocked(pool, `callcard.task${s}\u001f${task}`, async () => {
      const { rows } = await pool.query<{ ran_at: string }>(
        `SELECT ran_at FROM ${s}.task_runs WHERE name = $1`,
        [task],
      );
      const last = rows[0] === undefined ? undefined : Number(rows[0].ran_at);
      // Run already this period by an instance whose schedule came due a little earlier.
      if (last !== undefined && now() - last < periodMs * ONCE_SLACK) return false;
      await work();
      await pool.query(
        `INSERT INTO ${s}.task_runs (name, ran_at) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET ran_at = excluded.ran_at`,
        [task, now()],
      );
      return true;
    });
    return done.ran && done.value;
  };
  const calls = createPostgresCallJournal(pool, s);
  const outbox = createPostgresOutboxStore(pool, s);
  let closed: Promise<void> | undefined;
  return {
    contacts,
    calls,
    outbox,
    intake: {
      // One transaction: the call's row stays locked until its deliveries are written, so that two
      // instances given the same call at once submit one after the other, each seeing the other's.
      recordWithDeliveries: (call, deliveriesFor, now) =>
        inTransaction(pool, async (client) => {
          const recorded = await calls.recordOn(client, call);
          const before = await outbox.forCallOn(client, call.workflow, call.id);
          await outbox.submitOn(client, deliveriesFor(recorded.record, before), now);
          return recorded;
        }),
    },
    credentials: createPostgresCredentialStore(pool, s),
    secrets,
    once,
    admin: createPostgresAdminStore(pool, s),
    close() {
      closed ??= (async () => {
        await contacts.close();
        await release();
      })();
      return closed;
    },
  };
}
