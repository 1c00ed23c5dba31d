import type Database from 'better-sqlite3';
import type { CredentialStore, PendingConsent } from '../credential-types.js';
import type { Migration } from './migrations.js';

export const credentialMigrations: readonly Migration[] = [
  // One row per connection: its sealed tokens (or why consent is needed) and its refresh lease.
  (db) =>
    db.exec(`
      CREATE TABLE connections (
        name TEXT PRIMARY KEY,
        sealed TEXT,
        consent_needed TEXT,
        updated_at INTEGER NOT NULL,
        lease_holder TEXT,
        lease_until INTEGER
      );
      CREATE TABLE pending_consents (
        state TEXT PRIMARY KEY,
        connection TEXT NOT NULL,
        sealed TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
    `),
];

interface ConnectionRow {
  sealed: string | null;
  consent_needed: string | null;
  updated_at: number;
}

/**
 * OAuth connections in their own SQLite file. Each change is one statement or one IMMEDIATE
 * transaction: processes sharing the file take a connection's lease one at a time.
 */
export function createCredentialStore(db: Database.Database, now: () => number = Date.now): CredentialStore {
  const read = db.prepare<[string], ConnectionRow>(
    'SELECT sealed, consent_needed, updated_at FROM connections WHERE name = ?',
  );
  const save = db.prepare<[string, string, number]>(
    `INSERT INTO connections (name, sealed, consent_needed, updated_at) VALUES (?, ?, NULL, ?)
     ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, consent_needed = NULL, updated_at = excluded.updated_at`,
  );
  const mark = db.prepare<[string, string, number]>(
    `INSERT INTO connections (name, sealed, consent_needed, updated_at) VALUES (?, NULL, ?, ?)
     ON CONFLICT (name) DO UPDATE SET sealed = NULL, consent_needed = excluded.consent_needed, updated_at = excluded.updated_at`,
  );
  const leaseOf = db.prepare<[string], { lease_holder: string | null; lease_until: number | null }>(
    'SELECT lease_holder, lease_until FROM connections WHERE name = ?',
  );
  const ensure = db.prepare<[string, number]>(
    'INSERT INTO connections (name, updated_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING',
  );
  const setLease = db.prepare<[string, number, string]>(
    'UPDATE connections SET lease_holder = ?, lease_until = ? WHERE name = ?',
  );
  const release = db.prepare<[string, string]>(
    'UPDATE connections SET lease_holder = NULL, lease_until = NULL WHERE name = ? AND lease_holder = ?',
  );
  const addPending = db.prepare<[string, string, string, number]>(
    'INSERT INTO pending_consents (state, connection, sealed, expires_at) VALUES (?, ?, ?, ?)',
  );
  const takePending = db.prepare<[string], { connection: string; sealed: string; expires_at: number }>(
    'DELETE FROM pending_consents WHERE state = ? RETURNING connection, sealed, expires_at',
  );
  const dropExpired = db.prepare<[number]>('DELETE FROM pending_consents WHERE expires_at < ?');

  const lease = db.transaction((name: string, holder: string, until: number): boolean => {
    ensure.run(name, now());
    const row = leaseOf.get(name);
    const held = row?.lease_holder != null && row.lease_holder !== holder && (row.lease_until ?? 0) > now();
    if (held) return false;
    setLease.run(holder, until, name);
    return true;
  });

  return {
    async read(name) {
      const row = read.get(name);
      if (!row || (row.sealed === null && row.consent_needed === null)) return undefined;
      return {
        ...(row.sealed !== null && { sealed: row.sealed }),
        ...(row.consent_needed !== null && { consentNeeded: row.consent_needed }),
        updatedAt: row.updated_at,
      };
    },
    async save(name, sealed) {
      save.run(name, sealed, now());
    },
    async markConsentNeeded(name, reason) {
      mark.run(name, reason, now());
    },
    async lease(name, holder, until) {
      // IMMEDIATE: the write lock is taken before the lease is read, so two processes never both see it free.
      return lease.immediate(name, holder, until);
    },
    async release(name, holder) {
      release.run(name, holder);
    },
    async addPending(state, pending: PendingConsent) {
      dropExpired.run(now());
      addPending.run(state, pending.connection, pending.sealed, pending.expiresAt);
    },
    async takePending(state, at) {
      const row = takePending.get(state);
      if (!row || row.expires_at <= at) return undefined;
      return { connection: row.connection, sealed: row.sealed, expiresAt: row.expires_at };
    },
  };
}
