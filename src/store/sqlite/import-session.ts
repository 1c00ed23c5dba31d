import type Database from 'better-sqlite3';
import type { ContactRecord, ImportSession, PhoneEntry } from '../types.js';

/** Contacts, and keys, written by one statement: fewer statements to step through for large imports. */
const ROWS_PER_INSERT = 64;

/**
 * Runs one import on a connection of its own, in one transaction. Lookups read through the store's
 * connection, so in the importing process too they answer from the committed contacts (the WAL
 * snapshot) until the import commits; an import that fails half-way leaves nothing behind. The
 * session closes the connection when it ends.
 *
 * Replacing a source, contacts are inserted without looking for them first (only an id seen twice
 * in the entries updates the contact written before), and their keys are kept aside, in the order
 * written, then put into the key index in the index's order when the import commits (sorted
 * appends instead of random inserts). When the source was alone in the store, the contacts' other
 * indexes (by name, by company) are dropped during the import and built again at the commit.
 */
export function startImport(
  db: Database.Database,
  source: string,
  replace: boolean,
  onEnd: () => void,
): ImportSession {
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
  const deleteContact = db.prepare('DELETE FROM contacts WHERE seq = ?');
  const insertKey = db.prepare(
    'INSERT OR IGNORE INTO phone_keys (key, source, contact, position) VALUES (?, ?, ?, ?)',
  );

  let open = true;
  const end = (sql: 'COMMIT' | 'ROLLBACK') => {
    if (!open) return;
    open = false;
    try {
      db.exec(sql);
      if (sql === 'COMMIT') db.pragma('wal_checkpoint(PASSIVE)');
    } finally {
      db.close();
      onEnd();
    }
  };

  let id: number;
  /** The indexes dropped for the import, built again at the commit. */
  let dropped: string[] = [];
  try {
    db.exec('BEGIN IMMEDIATE');
    // Sources are stored by a small integer: it keeps the key index narrow.
    id =
      db.prepare<[string], { id: number }>('SELECT id FROM sources WHERE name = ?').get(source)?.id ??
      Number(db.prepare('INSERT INTO sources (name) VALUES (?)').run(source).lastInsertRowid);
    if (replace) {
      // The ids replaced, so that the commit can tell how many contacts are gone for good.
      db.prepare('CREATE TEMP TABLE replaced AS SELECT id FROM contacts WHERE source = ?').run(id);
      db.prepare('DELETE FROM phone_keys WHERE source = ?').run(id);
      db.prepare('DELETE FROM contacts WHERE source = ?').run(id);
      db.exec(`CREATE TEMP TABLE staged_keys (
        contact INTEGER NOT NULL, position INTEGER NOT NULL, key TEXT NOT NULL,
        PRIMARY KEY (contact, position)) WITHOUT ROWID`);
      if (db.prepare('SELECT 1 FROM contacts LIMIT 1').get() === undefined) {
        // Built again from the sorted rows at the commit: faster than kept up row by row. The one
        // on the id stays: it finds an id seen twice.
        const indexes = db
          .prepare<[], { name: string; sql: string }>(
            `SELECT name, sql FROM sqlite_master
              WHERE type = 'index' AND tbl_name = 'contacts' AND sql IS NOT NULL AND name <> 'contacts_by_id'`,
          )
          .all();
        for (const index of indexes) db.exec(`DROP INDEX "${index.name.replaceAll('"', '""')}"`);
        dropped = indexes.map((index) => index.sql);
      }
    }
  } catch (error) {
    if (db.inTransaction) end('ROLLBACK');
    else {
      open = false;
      db.close();
      onEnd();
    }
    throw error;
  }

  const fieldsOf = (record: ContactRecord) => [
    record.name ?? null,
    record.company ?? null,
    record.contactUri ?? null,
    record.companyUri ?? null,
    record.customData && Object.keys(record.customData).length > 0 ? JSON.stringify(record.customData) : null,
    JSON.stringify(record.phones),
    record.updatedAt ?? null,
  ];

  /** Updates or inserts one contact, its keys straight into the index (not replacing). */
  function writeContact(record: ContactRecord): void {
    const fields = fieldsOf(record);
    const previous = existing.get(id, record.id);
    let seq: number;
    if (previous) {
      seq = previous.seq;
      for (const phone of JSON.parse(previous.phones) as PhoneEntry[]) deleteKey.run(phone.key, id, seq);
      updateContact.run(...fields, seq);
    } else {
      seq = Number(insertContact.run(id, record.id, ...fields).lastInsertRowid);
    }
    record.phones.forEach((phone, position) => {
      insertKey.run(phone.key, id, seq, position);
    });
  }

  /** Statements inserting `rows` rows at once, by their number of rows. */
  const manyRows = (sql: (rows: number) => string) => {
    const prepared = new Map<number, Database.Statement>();
    return (rows: number) => {
      let statement = prepared.get(rows);
      if (!statement) {
        statement = db.prepare(sql(rows));
        prepared.set(rows, statement);
      }
      return statement;
    };
  };
  const values = (rows: number, row: string) => Array.from({ length: rows }, () => row).join(', ');
  const insertContacts = manyRows(
    (rows) => `INSERT OR IGNORE INTO contacts
      (source, id, name, company, contact_uri, company_uri, custom_data, phones, updated_at)
      VALUES ${values(rows, '(?, ?, ?, ?, ?, ?, ?, ?, ?)')} RETURNING seq, id`,
  );
  const stageKeys = manyRows(
    (rows) => `INSERT INTO staged_keys (contact, position, key) VALUES ${values(rows, '(?, ?, ?)')}`,
  );
  // Only a replacing import has the table.
  const unstage = replace ? db.prepare('DELETE FROM staged_keys WHERE contact = ?') : undefined;

  const staged: (number | string)[] = [];
  const flushKeys = () => {
    for (let start = 0; start < staged.length; start += ROWS_PER_INSERT * 3) {
      const part = staged.slice(start, start + ROWS_PER_INSERT * 3);
      stageKeys(part.length / 3).run(part);
    }
    staged.length = 0;
  };
  const stage = (seq: number, record: ContactRecord) => {
    record.phones.forEach((phone, position) => {
      staged.push(seq, position, phone.key);
    });
  };

  /** Inserts contacts of a replaced source, many a statement; an id seen before updates its contact. */
  function insertReplacing(records: readonly ContactRecord[]): void {
    for (let start = 0; start < records.length; start += ROWS_PER_INSERT) {
      const part = records.slice(start, start + ROWS_PER_INSERT);
      const params: unknown[] = [];
      for (const record of part) params.push(id, record.id, ...fieldsOf(record));
      const seqs = new Map<string, number>();
      for (const row of insertContacts(part.length).all(params) as { seq: number; id: string }[]) {
        seqs.set(row.id, row.seq);
      }
      const again: ContactRecord[] = [];
      for (const record of part) {
        const seq = seqs.get(record.id);
        if (seq === undefined) again.push(record);
        else {
          stage(seq, record);
          // An id twice in the same statement: only its first row was inserted.
          seqs.delete(record.id);
        }
      }
      for (const record of again) {
        const previous = existing.get(id, record.id)!;
        flushKeys();
        unstage!.run(previous.seq);
        updateContact.run(...fieldsOf(record), previous.seq);
        stage(previous.seq, record);
      }
    }
    flushKeys();
  }

  // Counted, not collected: an import of millions of rows keeps no list of them in memory.
  let written = 0;
  let removedById = 0;
  const session: ImportSession = {
    async write(records) {
      if (!open) throw new Error('the import has ended');
      if (replace) insertReplacing(records);
      else for (const record of records) writeContact(record);
      written += records.length;
    },
    async remove(contactIds) {
      if (!open) throw new Error('the import has ended');
      let removed = 0;
      for (const contactId of contactIds) {
        const previous = existing.get(id, contactId);
        if (!previous) continue;
        if (unstage) unstage.run(previous.seq);
        else {
          for (const phone of JSON.parse(previous.phones) as PhoneEntry[]) {
            deleteKey.run(phone.key, id, previous.seq);
          }
        }
        deleteContact.run(previous.seq);
        removed++;
      }
      removedById += removed;
      return removed;
    },
    async commit(syncState) {
      if (!open) throw new Error('the import has ended');
      if (replace) {
        db.prepare(
          `INSERT OR IGNORE INTO phone_keys (key, source, contact, position)
           SELECT key, ?, contact, position FROM staged_keys ORDER BY key, contact`,
        ).run(id);
        for (const sql of dropped) db.exec(sql);
      }
      // Replacing, a contact is gone when it was there before and was not written again.
      const removed = replace
        ? db
            .prepare<[number], { n: number }>(
              `SELECT count(*) AS n FROM replaced r
                WHERE NOT EXISTS (SELECT 1 FROM contacts c WHERE c.source = ? AND c.id = r.id)`,
            )
            .get(id)!.n
        : removedById;
      const counts = { contacts: written, removed };
      if (syncState) {
        try {
          db.prepare(
            'INSERT INTO sync_state (source, state) VALUES (?, ?) ON CONFLICT (source) DO UPDATE SET state = excluded.state',
          ).run(source, JSON.stringify(syncState(counts)));
        } catch (error) {
          end('ROLLBACK');
          throw error;
        }
      }
      end('COMMIT');
      return counts;
    },
    async abort() {
      end('ROLLBACK');
    },
  };
  return session;
}
