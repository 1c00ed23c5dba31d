/**
 * Tenants in one PostgreSQL database: each has a schema of its own. Given a role of its own (which
 * owns its schema and nothing else), a tenant's connections cannot reach another's data whatever
 * SQL they run: PostgreSQL refuses. This test tries. Needs the machine's PostgreSQL: skipped with a
 * message without it, a failure under CI.
 */
import pg from 'pg';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/types.js';
import { describeWithServer, PG_DB, PG_HOST, PG_PORT, pgUnavailable, uniqueName } from '../support/sql.js';
import { adminQuery } from './support.js';

const unavailable = await pgUnavailable();

const urlAs = (role: string) => `postgres://${role}@${PG_HOST}:${PG_PORT}/${PG_DB}`;

describeWithServer('tenants in one PostgreSQL database', unavailable, () => {
  let name: string;
  const roles = () => ({ acme: `${name}_acme`, globex: `${name}_globex` });
  const stores: Store[] = [];

  beforeEach(async () => {
    name = uniqueName('cc_cross');
    // Each tenant's role owns its schema; neither may create schemas in the database.
    for (const role of Object.values(roles())) {
      await adminQuery(`CREATE ROLE "${role}" LOGIN`);
      await adminQuery(`CREATE SCHEMA "${role}" AUTHORIZATION "${role}"`);
    }
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const role of Object.values(roles())) {
      await adminQuery(`DROP SCHEMA IF EXISTS "${role}" CASCADE`);
      await adminQuery(`DROP OWNED BY "${role}"`).catch(() => {});
      await adminQuery(`DROP ROLE IF EXISTS "${role}"`);
    }
  });

  const open = async (role: string, schema = role) => {
    const store = await openPostgresStore({ url: urlAs(role), schema });
    stores.push(store);
    return store;
  };

  it('a tenant’s connections cannot read, write or take over another tenant’s schema', async () => {
    const { acme, globex } = roles();
    const [a, g] = [await open(acme), await open(globex)];
    for (const [store, who] of [
      [a, 'Anna Acme'],
      [g, 'Gustav Globex'],
    ] as const) {
      const session = await store.contacts.beginImport('contacts', { replace: true });
      await session.write([
        { id: 'same-id', name: who, phones: [{ key: '+41215522000', raw: '021 552 20 00' }] },
      ]);
      await session.commit();
    }
    // Through callcard, each sees its own.
    expect((await a.contacts.findByKey('contacts', '+41215522000', 5)).map((m) => m.name)).toEqual([
      'Anna Acme',
    ]);
    expect((await g.contacts.findByKey('contacts', '+41215522000', 5)).map((m) => m.name)).toEqual([
      'Gustav Globex',
    ]);

    // Any SQL on acme's connection: globex's tables are out of reach.
    const client = new pg.Client({ connectionString: urlAs(acme) });
    await client.connect();
    try {
      for (const sql of [
        `SELECT name FROM "${globex}".contacts`,
        `SELECT value FROM "${globex}".secrets`,
        `UPDATE "${globex}".contacts SET name = 'taken'`,
        `DELETE FROM "${globex}".calls`,
        `CREATE TABLE "${globex}".mine (x int)`,
        `SET search_path TO "${globex}"; SELECT name FROM contacts`,
        `CREATE SCHEMA "${name}_third"`,
      ]) {
        await expect(client.query(sql), sql).rejects.toThrow(/permission denied|does not exist/);
      }
    } finally {
      await client.end();
    }
    // Nor does acme's role open a store on globex's schema.
    await expect(open(acme, globex)).rejects.toThrow(/permission denied/);
    expect((await g.contacts.findByKey('contacts', '+41215522000', 5)).map((m) => m.name)).toEqual([
      'Gustav Globex',
    ]);
  });

  it('one role for all tenants: the same ids in each tenant’s schema stay each tenant’s', async () => {
    const { acme, globex } = roles();
    // Both schemas owned by the administrator: one role, as a simple setup has it.
    for (const schema of [acme, globex]) await adminQuery(`ALTER SCHEMA "${schema}" OWNER TO CURRENT_USER`);
    const admin = (schema: string) => {
      const store = openPostgresStore({
        url: urlAs(process.env['CALLCARD_TEST_PG_USER'] ?? 'postgres'),
        schema,
      });
      return store.then((opened) => {
        stores.push(opened);
        return opened;
      });
    };
    const [a, g] = [await admin(acme), await admin(globex)];
    for (const [store, tenant] of [
      [a, 'acme'],
      [g, 'globex'],
    ] as const) {
      await store.calls.record({ id: 'call-1', workflow: 'CallFlow', status: 'missed', inputs: { tenant } });
      await store.outbox.enqueue(
        [
          {
            id: 'CallFlow:call-1:0',
            workflow: 'CallFlow',
            callId: 'call-1',
            action: 0,
            actionType: 'webhook',
            orderKey: 'same-key',
            payload: { tenant },
            maxAttempts: 1,
          },
        ],
        1,
      );
      await store.contacts.saveSyncState('crm', { attemptedAt: tenant === 'acme' ? 1 : 2 });
    }
    expect((await a.calls.get('call-1'))?.inputs).toEqual({ tenant: 'acme' });
    expect((await g.calls.get('call-1'))?.inputs).toEqual({ tenant: 'globex' });
    expect((await a.calls.get('call-1'))?.receivedCount).toBe(1);
    // Each outbox leases its own delivery: the same id and order key in the other tenant hold nothing up.
    expect((await a.outbox.claim('w', 1, 1000, 10)).map((d) => d.payload)).toEqual([{ tenant: 'acme' }]);
    expect((await g.outbox.claim('w', 1, 1000, 10)).map((d) => d.payload)).toEqual([{ tenant: 'globex' }]);
    expect(await a.contacts.syncState('crm')).toEqual({ attemptedAt: 1 });
    expect(await g.contacts.syncState('crm')).toEqual({ attemptedAt: 2 });
  });
});
