import type Database from 'better-sqlite3';

/**
 * Schema versions, applied in order and recorded in `PRAGMA user_version`.
 * Append new steps; never edit one that has shipped.
 */
export type Migration = (db: Database.Database) => void;

export function migrate(db: Database.Database, steps: readonly Migration[]): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let version = current; version < steps.length; version++) {
    db.transaction(() => {
      steps[version]!(db);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}

export const contactMigrations: readonly Migration[] = [
  // Contacts are rowid rows (they are wide: numbers as written, custom data); phone_keys is the one
  // index a lookup reads, narrow and WITHOUT ROWID so that a key and its contacts sit together.
  (db) =>
    db.exec(`
      CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
      );
      CREATE TABLE contacts (
        seq INTEGER PRIMARY KEY,
        source INTEGER NOT NULL,
        id TEXT NOT NULL,
        name TEXT,
        company TEXT,
        contact_uri TEXT,
        company_uri TEXT,
        custom_data TEXT,
        phones TEXT NOT NULL,
        updated_at INTEGER
      );
      CREATE UNIQUE INDEX contacts_by_id ON contacts (source, id);
      CREATE TABLE phone_keys (
        key TEXT NOT NULL,
        source INTEGER NOT NULL,
        contact INTEGER NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (key, source, contact)
      ) WITHOUT ROWID;
      CREATE TABLE sync_state (
        source TEXT PRIMARY KEY,
        state TEXT NOT NULL
      );
    `),
];

export const callMigrations: readonly Migration[] = [
  (db) =>
    db.exec(`
      CREATE TABLE calls (
        id TEXT PRIMARY KEY,
        workflow TEXT NOT NULL,
        direction TEXT,
        status TEXT NOT NULL,
        contact_crm_id TEXT,
        user_crm_id TEXT,
        originator_number TEXT,
        originator_name TEXT,
        destination_number TEXT,
        destination_name TEXT,
        started_time TEXT,
        answered_time TEXT,
        ended_time TEXT,
        declined_time TEXT,
        duration_seconds INTEGER,
        inputs TEXT NOT NULL,
        received_count INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX calls_by_started ON calls (started_time);
    `),
];
