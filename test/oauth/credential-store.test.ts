import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSealer } from '../../src/oauth/sealing.js';
import type { CredentialStore } from '../../src/store/credential-types.js';
import { createPostgresCredentialStore } from '../../src/store/postgres/credential-store.js';
import { migratePostgres } from '../../src/store/postgres/migrations.js';
import { createCredentialStore, credentialMigrations } from '../../src/store/sqlite/credential-store.js';
import { migrate } from '../../src/store/sqlite/migrations.js';
import { adminQuery } from '../store/support.js';
import { tempDir } from '../support/helper.js';
import { describeWithServer, pgUnavailable, pgUrl, uniqueName } from '../support/sql.js';

let clock: number;

/** Opens another handle on the same credentials (as another process or instance has), on the test's clock. */
type Opener = () => CredentialStore;

describe('the SQLite credential store', () => {
  let dir: ReturnType<typeof tempDir>;
  let dbs: Database.Database[];
  beforeEach(() => {
    dir = tempDir();
    dbs = [];
  });
  afterEach(() => {
    for (const db of dbs) db.close();
    dir.remove();
  });
  credentialContract(() => {
    const db = new Database(`${dir.path}/credentials.db`);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    migrate(db, credentialMigrations);
    dbs.push(db);
    return createCredentialStore(db, () => clock);
  });
});

describeWithServer('the PostgreSQL credential store', await pgUnavailable(), () => {
  let schema: string;
  let pools: pg.Pool[];
  beforeEach(async () => {
    schema = uniqueName('cc_credentials');
    pools = [];
    const pool = new pg.Pool({ connectionString: pgUrl(), max: 2 });
    pools.push(pool);
    await migratePostgres(pool, schema);
  });
  afterEach(async () => {
    for (const pool of pools) await pool.end();
    await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });
  credentialContract(() => {
    // Each handle with a pool of its own, as each instance has.
    const pool = new pg.Pool({ connectionString: pgUrl(), max: 2 });
    pools.push(pool);
    return createPostgresCredentialStore(pool, `"${schema}"`, () => clock);
  });
});

function credentialContract(open: Opener): void {
  beforeEach(() => {
    clock = 1_000_000;
  });

  it('gives a lease to one holder at a time, until it ends or is released', async () => {
    const [a, b] = [open(), open()];
    expect(await a.lease('crm', 'one', clock + 1000)).toBe(true);
    expect(await b.lease('crm', 'two', clock + 1000)).toBe(false);
    // Holding it again extends it; another connection's lease is apart.
    expect(await a.lease('crm', 'one', clock + 2000)).toBe(true);
    expect(await b.lease('other', 'two', clock + 1000)).toBe(true);
    await b.release('crm', 'two'); // not its lease: nothing happens
    expect(await b.lease('crm', 'two', clock + 1000)).toBe(false);
    await a.release('crm', 'one');
    expect(await b.lease('crm', 'two', clock + 1000)).toBe(true);
    // A holder that died: its lease ends by time.
    clock += 1001;
    expect(await a.lease('crm', 'one', clock + 1000)).toBe(true);
  });

  it('gives a lease asked for by many at once to one of them', async () => {
    const handles = Array.from({ length: 6 }, () => open());
    const taken = await Promise.all(handles.map((handle, i) => handle.lease('fresh', `h${i}`, clock + 1000)));
    expect(taken.filter(Boolean)).toHaveLength(1);
  });

  it('keeps tokens, and a consent-needed mark that drops them', async () => {
    const store = open();
    expect(await store.read('crm')).toBeUndefined();
    await store.lease('crm', 'one', clock + 10); // a lease alone is no connection
    expect(await store.read('crm')).toBeUndefined();
    await store.save('crm', 'v1.sealed');
    expect(await store.read('crm')).toEqual({ sealed: 'v1.sealed', updatedAt: clock });
    await store.markConsentNeeded('crm', 'refused');
    expect(await store.read('crm')).toEqual({ consentNeeded: 'refused', updatedAt: clock });
    await store.save('crm', 'v1.again');
    expect(await open().read('crm')).toEqual({ sealed: 'v1.again', updatedAt: clock });
  });

  it('answers a consent request once, and never after it expired', async () => {
    const [a, b] = [open(), open()];
    await a.addPending('s1', { connection: 'crm', sealed: 'x', expiresAt: clock + 100 });
    await a.addPending('s2', { connection: 'crm', sealed: 'y', expiresAt: clock + 100 });
    expect(await b.takePending('s1', clock)).toEqual({
      connection: 'crm',
      sealed: 'x',
      expiresAt: clock + 100,
    });
    expect(await a.takePending('s1', clock)).toBeUndefined();
    expect(await a.takePending('unknown', clock)).toBeUndefined();
    expect(await a.takePending('s2', clock + 100)).toBeUndefined();
    expect(await a.takePending('s2', clock)).toBeUndefined();
  });
}

describe('sealing', () => {
  const sealer = createSealer(Buffer.alloc(32, 7));

  it('opens what it sealed, under the same label only, and nothing changed', () => {
    const sealed = sealer.seal('{"accessToken":"abc"}', 'connection:crm');
    expect(sealed).not.toContain('abc');
    expect(sealer.open(sealed, 'connection:crm')).toBe('{"accessToken":"abc"}');
    expect(() => sealer.open(sealed, 'connection:other')).toThrow(/do not open/);
    const [version, iv, data, tag] = sealed.split('.');
    const flipped = Buffer.from(data!, 'base64url');
    flipped[0]! ^= 1;
    expect(() =>
      sealer.open([version, iv, flipped.toString('base64url'), tag].join('.'), 'connection:crm'),
    ).toThrow(/do not open/);
    expect(() => createSealer(Buffer.alloc(32, 8)).open(sealed, 'connection:crm')).toThrow(/do not open/);
    // A fresh IV each time.
    expect(sealer.seal('same', 'l')).not.toBe(sealer.seal('same', 'l'));
  });
});
