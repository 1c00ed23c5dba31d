import type { SecretStore, Store } from '../types.js';
import { createPostgresCallJournal } from './call-journal.js';
import { createPostgresContactStore } from './contact-store.js';
import { createPostgresCredentialStore } from './credential-store.js';
import { migratePostgres } from './migrations.js';
import { createPostgresOutboxStore } from './outbox-store.js';
import { ident, inTransaction, type PostgresSettings, sharedPool } from './pool.js';

export type { PostgresSettings } from './pool.js';

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
    close() {
      closed ??= (async () => {
        await contacts.close();
        await release();
      })();
      return closed;
    },
  };
}
