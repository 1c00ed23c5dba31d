/**
 * A PostgreSQL connection lost while callcard holds it (the server restarted, or ended it): what ran
 * on it fails and says so, the process goes on, and the store answers again on new connections.
 * The connections are ended by the server (pg_terminate_backend), found by an application name of
 * this test's own. Needs the machine's PostgreSQL: skipped with a message without it, a failure
 * under CI.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/types.js';
import { describeWithServer, pgUnavailable, pgUrl, uniqueName } from '../support/sql.js';
import { adminQuery } from './support.js';

const unavailable = await pgUnavailable();

describeWithServer('a lost PostgreSQL connection', unavailable, () => {
  let schema: string;
  let store: Store;
  const contact = (id: string, key: string) => ({ id, name: id, phones: [{ key, raw: key }] });
  /** Ends, from the server's side, this test's connections that are in a transaction or hold a lock. */
  const endHeld = async () =>
    (
      await adminQuery<{ ended: boolean }>(
        `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
          WHERE application_name = $1 AND (state = 'idle in transaction'
             OR pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory'))`,
        [schema],
      )
    ).rows.length;

  beforeEach(async () => {
    schema = uniqueName('cc_lost');
    store = await openPostgresStore({ url: pgUrl(), schema, applicationName: schema });
  });
  afterEach(async () => {
    await store.close();
    await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });

  it('an import whose connection is lost fails, leaves nothing, and the next one runs', async () => {
    const session = await store.contacts.beginImport('contacts', { replace: true });
    await session.write([contact('a', '+41215522001')]);
    expect(await endHeld()).toBe(1);
    // Give the client the time to hear of it (the event, not a timer, is what matters).
    await new Promise((resolve) => setImmediate(resolve));
    await expect(session.write([contact('b', '+41215522002')])).rejects.toThrow();
    expect(await store.contacts.count('contacts')).toBe(0);
    const next = await store.contacts.beginImport('contacts', { replace: true });
    await next.write([contact('c', '+41215522003')]);
    await next.commit();
    expect((await store.contacts.findByKey('contacts', '+41215522003', 5)).map((m) => m.id)).toEqual(['c']);
  });

  it('a sync lock whose connection is lost goes, and the source can be locked again', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = store.contacts.exclusively!('crm', () => held);
    await expect.poll(endHeld).toBe(1);
    release();
    await first.catch(() => undefined);
    expect(await store.contacts.exclusively!('crm', async () => 'ran')).toEqual({ ran: true, value: 'ran' });
  });
});
