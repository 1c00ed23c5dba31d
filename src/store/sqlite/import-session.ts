import type Database from 'better-sqlite3';
import type { ContactRecord, ImportSession, PhoneEntry } from '../types.js';

/**
 * Runs one import on a connection of its own, in one transaction. Lookups read through the store's
 * connection, so in the importing process too they answer from the committed contacts (the WAL
 * snapshot) until the import commits; an import that fails half-way leaves nothing behind. The
 * session closes the connection when it ends.
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

  function writeContact(record: ContactRecord): void {
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

  // Counted, not collected: an import of millions of rows keeps no list of them in memory.
  let written = 0;
  let removedById = 0;
  const session: ImportSession = {
    async write(records) {
      if (!open) throw new Error('the import has ended');
      for (const record of records) {
        writeContact(record);
        written++;
      }
    },
    async remove(contactIds) {
      if (!open) throw new Error('the import has ended');
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
      removedById += removed;
      return removed;
    },
    async commit(syncState) {
      if (!open) throw new Error('the import has ended');
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
