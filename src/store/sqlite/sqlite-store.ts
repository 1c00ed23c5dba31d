import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { MatchKey } from '../../phone/index.js';
import { ensurePrivateDir, ensureSecretFile, privateFile, writeSecretFile } from '../private-files.js';
import { readSearchCursor, searchCursor } from '../search-cursor.js';
import type {
  CallIntake,
  ContactMatch,
  ContactStore,
  FoundContact,
  ImportSession,
  NewCallRecord,
  PhoneEntry,
  Store,
  SyncState,
} from '../types.js';
import { openAdminStore } from './admin-store.js';
import { createCallJournal } from './call-journal.js';
import { createCredentialStore, credentialMigrations } from './credential-store.js';
import { createGroupCommit } from './group-commit.js';
import { startImport } from './import-session.js';
import { callMigrations, contactMigrations, migrate } from './migrations.js';
import { createOutboxStore } from './outbox-store.js';

/**
 * The embedded store: SQLite files in the data directory. Contacts and the call journal live in
 * separate files so that a long import never holds up the recording of a call.
 */
export function openSqliteStore(dataDir: string): Store {
  ensurePrivateDir(dataDir);
  const contactsFile = join(dataDir, 'contacts.db');
  const contactsDb = openDatabase(contactsFile);
  const callsDb = openDatabase(join(dataDir, 'calls.db'));
  migrate(contactsDb, contactMigrations);
  migrate(callsDb, callMigrations);
  // OAuth connections in a file of their own: a refresh never waits behind a call's recording.
  const credentialsDb = openDatabase(join(dataDir, 'credentials.db'));
  migrate(credentialsDb, credentialMigrations);
  const contacts = createContactStore(contactsDb, () => openDatabase(contactsFile));
  // The journal's and the outbox's writes of one turn of the event loop: one transaction, one commit.
  const group = createGroupCommit(callsDb);
  const calls = createCallJournal(callsDb, group.write);
  const outbox = createOutboxStore(callsDb, group.write);
  const recordWithDeliveries = callsDb.transaction(
    (call: NewCallRecord, deliveriesFor: Parameters<CallIntake['recordWithDeliveries']>[1], now: number) => {
      const recorded = calls.recordRow(call);
      const submissions = deliveriesFor(recorded.record, outbox.forCallRows(call.workflow, call.id));
      outbox.submitRows(submissions, now);
      return recorded;
    },
  );
  const admin = openAdminStore(dataDir);
  let closed = false;
  return {
    contacts,
    calls,
    outbox,
    admin,
    intake: {
      async recordWithDeliveries(call, deliveriesFor, now) {
        return group.write(() => recordWithDeliveries.immediate(call, deliveriesFor, now));
      },
    },
    // Files beside the databases, readable by callcard's user only.
    secrets: {
      async ensure(name, make) {
        const kept = ensureSecretFile(dataDir, name, make);
        return { ...kept, keptIn: kept.file };
      },
      async write(name, value) {
        writeSecretFile(dataDir, name, value);
      },
    },
    credentials: createCredentialStore(credentialsDb),
    async close() {
      if (closed) return;
      closed = true;
      group.flush();
      await contacts.close();
      await admin.close();
      contactsDb.close();
      callsDb.close();
      credentialsDb.close();
    },
  };
}

function openDatabase(file: string): Database.Database {
  privateFile(file);
  for (const companion of ['-wal', '-shm']) privateFile(`${file}${companion}`, { create: false });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // Lookups read random pages of the key index and the contacts: keep the pages used in memory
  // (filled as they are read, so memory follows use, up to 16 MiB: the index's upper pages, which
  // every lookup reads; the rest is read from the system's file cache, which the process's memory
  // does not count, for a system call of a few microseconds a page).
  db.pragma('cache_size = -16384');
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

/**
 * Lookups and counts read through `db`; each import writes through a connection of its own, opened
 * by `connect`, so that readers keep the committed contacts until it commits.
 */
function createContactStore(
  db: Database.Database,
  connect: () => Database.Database,
): ContactStore & { close(): Promise<void> } {
  // One statement per lookup (one read transaction): the key's rows and their contacts, in the key
  // index's order. Sorting by position is left to JavaScript (SQLite would sort in a temporary
  // b-tree); only a number shared by more than MAX_CANDIDATES contacts takes the ordered statement.
  const columns = 'c.id, c.name, c.company, c.contact_uri, c.company_uri, c.custom_data, c.updated_at';
  const keyContacts = db.prepare<[MatchKey, number, number], ContactRow & { position: number }>(
    `SELECT k.position, ${columns} FROM phone_keys AS k CROSS JOIN contacts AS c ON c.seq = k.contact
     WHERE k.key = ? AND k.source = ? LIMIT ?`,
  );
  const firstKeyContacts = db.prepare<[MatchKey, number, number], ContactRow & { position: number }>(
    `SELECT k.position, ${columns} FROM phone_keys AS k CROSS JOIN contacts AS c ON c.seq = k.contact
     WHERE k.key = ? AND k.source = ? ORDER BY k.position, k.contact LIMIT ?`,
  );
  const countAll = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM contacts');
  const countSource = db.prepare<[number], { n: number }>(
    'SELECT COUNT(*) AS n FROM contacts WHERE source = ?',
  );
  const sourceId = db.prepare<[string], { id: number }>('SELECT id FROM sources WHERE name = ?');
  const readState = db.prepare<[string], { state: string }>('SELECT state FROM sync_state WHERE source = ?');
  const writeState = db.prepare(
    'INSERT INTO sync_state (source, state) VALUES (?, ?) ON CONFLICT (source) DO UPDATE SET state = excluded.state',
  );

  // A source's id never changes once committed; imports add sources on their own connection.
  const ids = new Map<string, number>();
  const idOf = (name: string): number | undefined => {
    const id = ids.get(name) ?? sourceId.get(name)?.id;
    if (id !== undefined) ids.set(name, id);
    return id;
  };

  // Search by text: two listings in index order, by name and by company (a contact whose name
  // matches is listed by its name only), merged. Each reads `limit + 1` rows past the cursor.
  const fields =
    'c.seq, c.id, c.name, c.company, c.contact_uri, c.company_uri, c.custom_data, c.phones, c.updated_at, s.name AS source';
  const byName = db.prepare<[string, string, string, number, number], SearchRow>(`
    SELECT ${fields}, lower(c.name) AS sort FROM contacts c JOIN sources s ON s.id = c.source
    WHERE c.name IS NOT NULL AND lower(c.name) >= ? AND lower(c.name) < ? AND (lower(c.name), c.seq) > (?, ?)
    ORDER BY lower(c.name), c.seq LIMIT ?`);
  const byCompany = db.prepare<[string, string, string, number, string, string, number], SearchRow>(`
    SELECT ${fields}, lower(c.company) AS sort FROM contacts c JOIN sources s ON s.id = c.source
    WHERE c.company IS NOT NULL AND lower(c.company) >= ? AND lower(c.company) < ?
      AND (lower(c.company), c.seq) > (?, ?)
      AND (c.name IS NULL OR NOT (lower(c.name) >= ? AND lower(c.name) < ?))
    ORDER BY lower(c.company), c.seq LIMIT ?`);
  const byKey = db.prepare<[MatchKey, number], SearchRow>(`
    SELECT ${fields}, '' AS sort FROM phone_keys k JOIN contacts c ON c.seq = k.contact JOIN sources s ON s.id = c.source
    WHERE k.key = ? ORDER BY k.position, c.seq LIMIT ?`);

  let importing: ImportSession | undefined;

  return {
    async search({ text, key, limit, after }) {
      if (key !== undefined) return { contacts: byKey.all(key, limit).map(toFound) };
      const low = foldAscii(text ?? '');
      const high = `${low}\u{10FFFF}`;
      const [sort, seq] = readSearchCursor(after);
      const rows = [
        ...byName.all(low, high, sort, seq, limit + 1),
        ...byCompany.all(low, high, sort, seq, low, high, limit + 1),
      ].sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : a.seq - b.seq));
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        contacts: page.map(toFound),
        ...(rows.length > limit && last && { next: searchCursor(last.sort, last.seq) }),
      };
    },
    async findByKey(source, key, limit) {
      const id = idOf(source);
      if (id === undefined) return [];
      let rows = keyContacts.all(key, id, MAX_CANDIDATES + 1);
      if (rows.length === 0) return [];
      if (rows.length > MAX_CANDIDATES) rows = firstKeyContacts.all(key, id, MAX_CANDIDATES);
      // A shared number (a switchboard) may have many contacts: those whose main number it is first.
      else rows.sort((a, b) => a.position - b.position);
      const matches = rows.map((row) => toMatch(row, row.position));
      matches.sort(
        (a, b) => Number(b.primary) - Number(a.primary) || (b.updatedAt ?? 0) - (a.updatedAt ?? 0),
      );
      return matches.slice(0, limit);
    },
    async count(source) {
      if (source === undefined) return countAll.get()?.n ?? 0;
      const id = idOf(source);
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
      const session = startImport(connect(), source, replace, () => {
        importing = undefined;
      });
      importing = session;
      return session;
    },
    /** Rolls back an import still running. */
    async close() {
      await importing?.abort();
    },
  };
}

interface SearchRow extends ContactRow {
  seq: number;
  phones: string;
  source: string;
  sort: string;
}

/** A-Z to a-z, as SQLite's lower() folds (other letters stay as written). */
const foldAscii = (text: string) => text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());

function toFound(row: SearchRow): FoundContact {
  const { primary: _, ...match } = toMatch(row, 0);
  return { ...match, source: row.source, phones: JSON.parse(row.phones) as PhoneEntry[] };
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
