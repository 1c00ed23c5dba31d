import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { MatchKey } from '../../phone/index.js';
import type {
  ContactMatch,
  ContactRecord,
  ContactStore,
  ImportSession,
  PhoneEntry,
  Store,
  SyncState,
} from '../types.js';
import { createCallJournal } from './call-journal.js';
import { callMigrations, contactMigrations, migrate } from './migrations.js';
import { createOutboxStore } from './outbox-store.js';

/**
 * The embedded store: two SQLite files in the data directory. Contacts and the call journal live in
 * separate files so that a long import never holds up the recording of a call.
 */
export function openSqliteStore(dataDir: string): Store {
  mkdirSync(dataDir, { recursive: true });
  const contactsDb = openDatabase(join(dataDir, 'contacts.db'));
  const callsDb = openDatabase(join(dataDir, 'calls.db'));
  migrate(contactsDb, contactMigrations);
  migrate(callsDb, callMigrations);
  let closed = false;
  return {
    contacts: createContactStore(contactsDb),
    calls: createCallJournal(callsDb),
    outbox: createOutboxStore(callsDb),
    async close() {
      if (closed) return;
      closed = true;
      contactsDb.close();
      callsDb.close();
    },
  };
}

function openDatabase(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // Lookups read random pages of the key index and the contacts: keep the pages used in memory
  // (filled as they are read, so memory follows use, up to 128 MiB).
  db.pragma('cache_size = -131072');
  return db;
}

interface ContactRow {
  id: string;
  name: string | null;
  company: string | null;
  contact_uri: string | null;
  company_uri: string | null;
  custom_data: string | null;
  updated_at: number | null;
}

function createContactStore(db: Database.Database): ContactStore {
  // Two small statements: a join with ORDER BY costs SQLite several times more than both together.
  const keyHits = db.prepare<[MatchKey, number], { contact: number; position: number }>(
    'SELECT contact, position FROM phone_keys WHERE key = ? AND source = ?',
  );
  const contactBySeq = db.prepare<[number], ContactRow>(
    'SELECT id, name, company, contact_uri, company_uri, custom_data, updated_at FROM contacts WHERE seq = ?',
  );
  const countAll = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM contacts');
  const countSource = db.prepare<[number], { n: number }>(
    'SELECT COUNT(*) AS n FROM contacts WHERE source = ?',
  );
  const sourceId = db.prepare<[string], { id: number }>('SELECT id FROM sources WHERE name = ?');
  const addSource = db.prepare('INSERT INTO sources (name) VALUES (?)');
  const deleteSource = [
    db.prepare('DELETE FROM phone_keys WHERE source = ?'),
    db.prepare('DELETE FROM contacts WHERE source = ?'),
  ];
  const existing = db.prepare<[number, string], { seq: number; phones: string }>(
    'SELECT seq, phones FROM contacts WHERE source = ? AND id = ?',
  );
  const deleteKey = db.prepare('DELETE FROM phone_keys WHERE key = ? AND source = ? AND contact = ?');
  const insertContact = db.prepare(`
    INSERT INTO contacts (source, id, name, company, contact_uri, company_uri, custom_data, phones, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const updateContact = db.prepare(`
    UPDATE contacts SET name = ?, company = ?, contact_uri = ?, company_uri = ?, custom_data = ?, phones = ?,
      updated_at = ?
    WHERE seq = ?`);
  const readState = db.prepare<[string], { state: string }>('SELECT state FROM sync_state WHERE source = ?');
  const writeState = db.prepare(
    'INSERT INTO sync_state (source, state) VALUES (?, ?) ON CONFLICT (source) DO UPDATE SET state = excluded.state',
  );
  const deleteContact = db.prepare('DELETE FROM contacts WHERE seq = ?');
  const insertKey = db.prepare(
    'INSERT OR IGNORE INTO phone_keys (key, source, contact, position) VALUES (?, ?, ?, ?)',
  );

  // Sources are stored by a small integer: it keeps the key index narrow.
  const ids = new Map<string, number>();
  const idOf = (name: string, create: boolean): number | undefined => {
    let id = ids.get(name) ?? sourceId.get(name)?.id;
    if (id === undefined && create) id = Number(addSource.run(name).lastInsertRowid);
    if (id !== undefined) ids.set(name, id);
    return id;
  };

  let importing = false;

  return {
    async findByKey(source, key, limit) {
      const id = idOf(source, false);
      if (id === undefined) return [];
      const hits = keyHits.all(key, id);
      if (hits.length === 0) return [];
      // A shared number (a switchboard) may have many contacts: those whose main number it is first.
      hits.sort((a, b) => a.position - b.position);
      const matches: ContactMatch[] = [];
      for (const hit of hits.slice(0, MAX_CANDIDATES)) {
        const row = contactBySeq.get(hit.contact);
        if (row) matches.push(toMatch(row, hit.position));
      }
      matches.sort(
        (a, b) => Number(b.primary) - Number(a.primary) || (b.updatedAt ?? 0) - (a.updatedAt ?? 0),
      );
      return matches.slice(0, limit);
    },
    async count(source) {
      if (source === undefined) return countAll.get()?.n ?? 0;
      const id = idOf(source, false);
      return id === undefined ? 0 : (countSource.get(id)?.n ?? 0);
    },
    async syncState(source) {
      const row = readState.get(source);
      return row ? (JSON.parse(row.state) as SyncState) : undefined;
    },
    async saveSyncState(source, state) {
      writeState.run(source, JSON.stringify(state));
    },
    async beginImport(source, { replace }) {
      if (importing) throw new Error('another import is running on this store');
      importing = true;
      // A large page cache while writing many keys in random order; back to the default after.
      const cacheSize = db.pragma('cache_size', { simple: true }) as number;
      db.pragma('cache_size = -131072');
      // One transaction for the whole import: readers keep seeing the previous data until commit,
      // and an import that fails half-way leaves nothing behind.
      db.exec('BEGIN IMMEDIATE');
      const id = idOf(source, true)!;
      if (replace) for (const statement of deleteSource) statement.run(id);
      // Counted, not collected: an import of millions of rows keeps no list of them in memory.
      let written = 0;
      const finish = (sql: 'COMMIT' | 'ROLLBACK') => {
        if (!importing) return;
        importing = false;
        try {
          db.exec(sql);
        } finally {
          db.pragma(`cache_size = ${cacheSize}`);
          // A rolled-back source row may be gone again.
          if (sql === 'ROLLBACK') ids.delete(source);
        }
      };
      const session: ImportSession = {
        async write(records) {
          for (const record of records) {
            writeContact(id, record);
            written++;
          }
        },
        async remove(contactIds) {
          let removed = 0;
          for (const contactId of contactIds) {
            const previous = existing.get(id, contactId);
            if (!previous) continue;
            for (const phone of JSON.parse(previous.phones) as PhoneEntry[]) {
              deleteKey.run(phone.key, id, previous.seq);
            }
            deleteContact.run(previous.seq);
            removed++;
          }
          return removed;
        },
        async commit() {
          finish('COMMIT');
          db.pragma('wal_checkpoint(PASSIVE)');
          return { contacts: written };
        },
        async abort() {
          finish('ROLLBACK');
        },
      };
      return session;
    },
  };

  function writeContact(source: number, record: ContactRecord): void {
    const fields = [
      record.name ?? null,
      record.company ?? null,
      record.contactUri ?? null,
      record.companyUri ?? null,
      record.customData && Object.keys(record.customData).length > 0
        ? JSON.stringify(record.customData)
        : null,
      JSON.stringify(record.phones),
      record.updatedAt ?? null,
    ];
    const previous = existing.get(source, record.id);
    let seq: number;
    if (previous) {
      seq = previous.seq;
      for (const phone of JSON.parse(previous.phones) as PhoneEntry[]) deleteKey.run(phone.key, source, seq);
      updateContact.run(...fields, seq);
    } else {
      seq = Number(insertContact.run(source, record.id, ...fields).lastInsertRowid);
    }
    record.phones.forEach((phone, position) => {
      insertKey.run(phone.key, source, seq, position);
    });
  }
}

/** Contacts read for one key at most, before ranking. */
const MAX_CANDIDATES = 200;

function toMatch(row: ContactRow, position: number): ContactMatch {
  return {
    id: row.id,
    ...(row.name !== null && { name: row.name }),
    ...(row.company !== null && { company: row.company }),
    ...(row.contact_uri !== null && { contactUri: row.contact_uri }),
    ...(row.company_uri !== null && { companyUri: row.company_uri }),
    ...(row.custom_data !== null && { customData: JSON.parse(row.custom_data) as Record<string, string> }),
    ...(row.updated_at !== null && { updatedAt: row.updated_at }),
    primary: position === 0,
  };
}
