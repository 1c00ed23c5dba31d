import type Database from 'better-sqlite3';
import { callTime } from './call-journal.js';

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
  // Contacts by the start of their name or company (A to Z folded), for the console's search.
  (db) =>
    db.exec(`
      CREATE INDEX contacts_by_name ON contacts (lower(name), seq) WHERE name IS NOT NULL;
      CREATE INDEX contacts_by_company ON contacts (lower(company), seq) WHERE company IS NOT NULL;
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
  // The outbox: one row per delivery, `seq` giving the enqueue order. A running row's next_at is its
  // lease's end, so one index finds both due pending rows and running rows whose worker died.
  // `held` marks an unfinished delivery behind an earlier unfinished one of its order key: the ready
  // index holds only the unfinished rows not held, so a claim reads just what may run, however long
  // the queue behind a failing target. The open-by-order index finds a key's next one.
  (db) =>
    db.exec(`
      CREATE TABLE deliveries (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        workflow TEXT NOT NULL,
        call_id TEXT NOT NULL,
        action INTEGER NOT NULL,
        action_type TEXT NOT NULL,
        order_key TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'dead')),
        attempts INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        next_at INTEGER NOT NULL,
        held INTEGER NOT NULL,
        locked_by TEXT,
        locked_until INTEGER,
        last_error TEXT,
        result_id TEXT,
        result_url TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX deliveries_due ON deliveries (status, next_at);
      CREATE INDEX deliveries_ready ON deliveries (next_at, seq)
        WHERE status IN ('pending', 'running') AND held = 0;
      CREATE INDEX deliveries_open_by_order ON deliveries (order_key, seq)
        WHERE status IN ('pending', 'running');
      CREATE INDEX deliveries_by_call ON deliveries (workflow, call_id);
    `),
  // The call's time as epoch ms (its startedTime, else when it was first recorded), whatever zone or
  // form the CONNECTOR wrote the time in: listings sort on it, date filters and retention compare it.
  (db) => {
    db.exec('ALTER TABLE calls ADD COLUMN started_at INTEGER');
    const rows = db
      .prepare<[], { id: string; started_time: string | null; created_at: string }>(
        'SELECT id, started_time, created_at FROM calls',
      )
      .all();
    const update = db.prepare('UPDATE calls SET started_at = ? WHERE id = ?');
    for (const row of rows) update.run(callTime(row.started_time, row.created_at), row.id);
    db.exec(`
      CREATE INDEX calls_by_time ON calls (started_at, id);
      CREATE INDEX calls_by_contact ON calls (contact_crm_id, started_at);
    `);
  },
  // The id the first answer gave for a call: every repeat of the call gets the same.
  (db) => db.exec('ALTER TABLE calls ADD COLUMN answer_id TEXT'),
  // Finished deliveries by age, for their removal after delivery.retentionDays.
  (db) =>
    db.exec(`CREATE INDEX deliveries_finished ON deliveries (updated_at) WHERE status IN ('done', 'dead')`),
  // An update of a delivery already made (the call changed after it): the first delivery's id; and
  // which post of the call the payload is of (the journal's count), so an older one never replaces it.
  (db) =>
    db.exec(`
      ALTER TABLE deliveries ADD COLUMN update_of TEXT;
      ALTER TABLE deliveries ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX deliveries_updates ON deliveries (update_of, seq) WHERE update_of IS NOT NULL;
    `),
];

/** The console's accounts, sessions and audit log (`admin.db`). */
export const adminMigrations: readonly Migration[] = [
  (db) =>
    db.exec(`
      CREATE TABLE accounts (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('partner', 'tenant', 'read-only')),
        tenant TEXT,
        password_hash TEXT NOT NULL,
        must_change INTEGER NOT NULL,
        password_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        seen_at INTEGER NOT NULL
      );
      CREATE INDEX sessions_by_account ON sessions (account);
      CREATE INDEX sessions_by_seen ON sessions (seen_at);
      CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT,
        address TEXT
      );
    `),
];
