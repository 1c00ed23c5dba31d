import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSealer } from '../../src/oauth/sealing.js';
import type { CredentialStore } from '../../src/store/credential-types.js';
import { createCredentialStore, credentialMigrations } from '../../src/store/sqlite/credential-store.js';
import { migrate } from '../../src/store/sqlite/migrations.js';
import { tempDir } from '../support/helper.js';

describe('the SQLite credential store', () => {
  let dir: ReturnType<typeof tempDir>;
  let dbs: Database.Database[];
  let clock: number;
  /** A connection of its own to the same file, as another process has. */
  const open = (): CredentialStore => {
    const db = new Database(`${dir.path}/credentials.db`);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    migrate(db, credentialMigrations);
    dbs.push(db);
    return createCredentialStore(db, () => clock);
  };
  beforeEach(() => {
    dir = tempDir();
    dbs = [];
    clock = 1_000_000;
  });
  afterEach(() => {
    for (const db of dbs) db.close();
    dir.remove();
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
});

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
