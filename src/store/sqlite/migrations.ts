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
  // A contact's numbers are kept with it (to show and to replace them); phone_keys is the one index
  // a lookup reads: a single B-tree, so writing a number touches one tree only.
  (db) =>
    db.exec(`
      CREATE TABLE contacts (
        source TEXT NOT NULL,
        id TEXT NOT NULL,
        name TEXT,
        company TEXT,
        contact_uri TEXT,
        company_uri TEXT,
        custom_data TEXT,
        phones TEXT NOT NULL,
        updated_at INTEGER,
        PRIMARY KEY (source, id)
      ) WITHOUT ROWID;
      CREATE TABLE phone_keys (
        key TEXT NOT NULL,
        source TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (key, source, contact_id)
      ) WITHOUT ROWID;
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
