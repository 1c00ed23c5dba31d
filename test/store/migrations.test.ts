/**
 * The PostgreSQL store's schema migrations: numbered, applied once, in order, by one instance at a
 * time; a schema a newer version has already moved on is used as it is (a rolling upgrade). Needs
 * the machine's PostgreSQL: skipped with a message without it, a failure under CI.
 */
import pg from 'pg';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { migratePostgres, postgresMigrations } from '../../src/store/postgres/migrations.js';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import { describeWithServer, pgUnavailable, pgUrl, uniqueName } from '../support/sql.js';
import { adminQuery } from './support.js';

const unavailable = await pgUnavailable();

describeWithServer('PostgreSQL store migrations', unavailable, () => {
  let schema: string;
  let pool: pg.Pool;
  const versions = async () =>
    (
      await adminQuery<{ version: number }>(`SELECT version FROM "${schema}".schema_version ORDER BY version`)
    ).rows.map((row) => row.version);

  beforeEach(() => {
    schema = uniqueName('cc_migrate');
    pool = new pg.Pool({ connectionString: pgUrl(), max: 6 });
  });
  afterEach(async () => {
    await pool.end();
    await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });

  it('applies the missing steps of an older schema, once, however many instances start together', async () => {
    expect(await migratePostgres(pool, schema, postgresMigrations.slice(0, 2))).toBe(2);
    expect(await versions()).toEqual([1, 2]);
    // Five instances of the newer version at once: the lock lets one migrate, the others find it done.
    const reached = await Promise.all(Array.from({ length: 5 }, () => migratePostgres(pool, schema)));
    expect(reached).toEqual(reached.map(() => postgresMigrations.length));
    expect(await versions()).toEqual(postgresMigrations.map((_, i) => i + 1));
  });

  it('the version before keeps working on a schema a newer version has added to', async () => {
    const newer = [
      ...postgresMigrations,
      (s: string) => `
        ALTER TABLE ${s}.contacts ADD COLUMN nickname text;
        ALTER TABLE ${s}.calls ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
        CREATE TABLE ${s}.something_new (id integer PRIMARY KEY);`,
    ];
    expect(await migratePostgres(pool, schema, newer)).toBe(newer.length);
    // This version: nothing to apply, and it reads and writes as before.
    const store = await openPostgresStore({ url: pgUrl(), schema });
    try {
      const session = await store.contacts.beginImport('contacts', { replace: true });
      await session.write([{ id: 'a', name: 'A', phones: [{ key: '+41215522000', raw: '021 552 20 00' }] }]);
      await session.commit();
      expect(await store.contacts.findByKey('contacts', '+41215522000', 5)).toEqual([
        { id: 'a', name: 'A', primary: true },
      ]);
      const { record } = await store.calls.record({
        id: 'c',
        workflow: 'CallFlow',
        status: 'missed',
        inputs: {},
      });
      expect(record.receivedCount).toBe(1);
    } finally {
      await store.close();
    }
    expect(await versions()).toEqual(newer.map((_, i) => i + 1));
  });

  it('a step that fails leaves the schema as it was, and says why', async () => {
    const broken = [...postgresMigrations, () => 'SELECT * FROM no_such_table'];
    await expect(migratePostgres(pool, schema, broken)).rejects.toThrow(/no_such_table/);
    // Nothing of the run was kept, not even the schema: the next start begins again.
    const { rows } = await adminQuery('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    expect(rows).toEqual([]);
    expect(await migratePostgres(pool, schema)).toBe(postgresMigrations.length);
  });
});
