import type pg from 'pg';
import { readSearchCursor, searchCursor } from '../search-cursor.js';
import type {
  ContactMatch,
  ContactRecord,
  ContactStore,
  FoundContact,
  ImportSession,
  PhoneEntry,
  SyncState,
} from '../types.js';
import { holdConnection, lockNames, whileLocked } from './pool.js';

interface MatchRow {
  id: string;
  name: string | null;
  company: string | null;
  contact_uri: string | null;
  company_uri: string | null;
  custom_data: string | null;
  updated_at: string | null;
  position: number;
}

/**
 * The contact index in the tenant's schema `s` (quoted). A lookup is one statement on the key
 * index; an import writes through a transaction of its own, which lookups on every instance see
 * only once it commits.
 */
export function createPostgresContactStore(
  pool: pg.Pool,
  s: string,
): ContactStore & { close(): Promise<void> } {
  const find = createKeyBatcher(pool, s);
  const sessions = new Set<ImportSession>();

  return {
    async search({ text, key, limit, after }) {
      const fields = `c.seq, c.id, c.name, c.company, c.contact_uri, c.company_uri, c.custom_data, c.phones,
        c.updated_at, s.name AS source`;
      if (key !== undefined) {
        const { rows } = await pool.query<SearchRow>(
          `SELECT ${fields}, '' AS sort FROM ${s}.phone_keys k JOIN ${s}.contacts c ON c.seq = k.contact
           JOIN ${s}.sources s ON s.id = c.source WHERE k.key = $1 ORDER BY k.position, c.seq LIMIT $2`,
          [key, limit],
        );
        return { contacts: rows.map(toFound) };
      }
      const [sort, seq] = readSearchCursor(after);
      // By name, and by company for those whose name does not match: each read in its index's order.
      const byName = pool.query<SearchRow>(
        `SELECT ${fields}, lower(c.name) COLLATE "C" AS sort FROM ${s}.contacts c JOIN ${s}.sources s ON s.id = c.source
         WHERE c.name IS NOT NULL AND lower(c.name) COLLATE "C" >= lower($1) COLLATE "C"
           AND lower(c.name) COLLATE "C" < (lower($1) || chr(1114111)) COLLATE "C"
           AND (lower(c.name) COLLATE "C", c.seq) > ($2 COLLATE "C", $3)
         ORDER BY lower(c.name) COLLATE "C", c.seq LIMIT $4`,
        [text ?? '', sort, seq, limit + 1],
      );
      const byCompany = pool.query<SearchRow>(
        `SELECT ${fields}, lower(c.company) COLLATE "C" AS sort FROM ${s}.contacts c JOIN ${s}.sources s ON s.id = c.source
         WHERE c.company IS NOT NULL AND lower(c.company) COLLATE "C" >= lower($1) COLLATE "C"
           AND lower(c.company) COLLATE "C" < (lower($1) || chr(1114111)) COLLATE "C"
           AND (lower(c.company) COLLATE "C", c.seq) > ($2 COLLATE "C", $3)
           AND (c.name IS NULL OR NOT starts_with(lower(c.name) COLLATE "C", lower($1) COLLATE "C"))
         ORDER BY lower(c.company) COLLATE "C", c.seq LIMIT $4`,
        [text ?? '', sort, seq, limit + 1],
      );
      const rows = [...(await byName).rows, ...(await byCompany).rows].sort((a, b) =>
        a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : Number(a.seq) - Number(b.seq),
      );
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        contacts: page.map(toFound),
        ...(rows.length > limit && last && { next: searchCursor(last.sort, Number(last.seq)) }),
      };
    },
    findByKey: (source, key, limit) => find(source, key, limit),
    async count(source) {
      const { rows } =
        source === undefined
          ? await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${s}.contacts`)
          : await pool.query<{ n: string }>(
              `SELECT count(*) AS n FROM ${s}.contacts WHERE source = (SELECT id FROM ${s}.sources WHERE name = $1)`,
              [source],
            );
      return Number(rows[0]!.n);
    },
    async syncState(source) {
      const { rows } = await pool.query<{ state: string }>(
        `SELECT state FROM ${s}.sync_state WHERE source = $1`,
        [source],
      );
      return rows[0] ? (JSON.parse(rows[0].state) as SyncState) : undefined;
    },
    async saveSyncState(source, state) {
      await pool.query(
        `INSERT INTO ${s}.sync_state (source, state) VALUES ($1, $2)
         ON CONFLICT (source) DO UPDATE SET state = excluded.state`,
        [source, JSON.stringify(state)],
      );
    },
    exclusively: (source, work) => whileLocked(pool, `callcard.sync${s}\u001f${source}`, work),
    async beginImport(source, { replace }) {
      if (sessions.size > 0) throw new Error('another import is running on this store');
      const held = await holdConnection(pool);
      let session: ImportSession;
      try {
        session = await startPostgresImport(held, s, source, replace, () => {
          sessions.delete(session);
        });
      } catch (error) {
        held.release(true);
        throw error;
      }
      sessions.add(session);
      return session;
    },
    /** Rolls back an import still running. */
    async close() {
      await Promise.allSettled([...sessions].map((session) => session.abort()));
    },
  };
}

interface Waiting {
  readonly source: string;
  readonly key: string;
  readonly limit: number;
  resolve(matches: ContactMatch[]): void;
  reject(error: unknown): void;
}

/** Most lookups in one statement. */
const MAX_BATCH = 64;

/**
 * Lookups by key, several in one statement when they come together. A lookup waits at most until
 * the end of the event loop's turn in which it came, and longer only while half of the pool's
 * connections are already reading for earlier lookups: those that wait meanwhile go together in the
 * next statement. Under load, one round trip, one execution and one answer serve many lookups,
 * which costs this process and the server less per lookup than a statement each; alone, a lookup is
 * a statement on its key. Each lookup's rows are its own, in its own order, with its own limit.
 */
function createKeyBatcher(
  pool: pg.Pool,
  s: string,
): (source: string, key: string, limit: number) => Promise<ContactMatch[]> {
  // Those whose main number it is first, then the most recently changed.
  const one = {
    name: `cc_find_${s}`,
    text: `
      SELECT c.id, c.name, c.company, c.contact_uri, c.company_uri, c.custom_data, c.updated_at, k.position
        FROM ${s}.phone_keys k JOIN ${s}.contacts c ON c.seq = k.contact
       WHERE k.key = $1 AND k.source = (SELECT id FROM ${s}.sources WHERE name = $2)
       ORDER BY k.position = 0 DESC, coalesce(c.updated_at, 0) DESC, k.position, k.contact
       LIMIT $3`,
  };
  // The same for each of several keys, their rows in the keys' order.
  const many = {
    name: `cc_find_keys_${s}`,
    text: `
      SELECT q.i, m.id, m.name, m.company, m.contact_uri, m.company_uri, m.custom_data, m.updated_at, m.position
        FROM unnest($1::text[], $2::text[], $3::integer[]) WITH ORDINALITY AS q (key, source, lim, i)
        CROSS JOIN LATERAL (
          SELECT c.id, c.name, c.company, c.contact_uri, c.company_uri, c.custom_data, c.updated_at,
                 k.position, k.contact
            FROM ${s}.phone_keys k JOIN ${s}.contacts c ON c.seq = k.contact
           WHERE k.key = q.key AND k.source = (SELECT id FROM ${s}.sources WHERE name = q.source)
           ORDER BY k.position = 0 DESC, coalesce(c.updated_at, 0) DESC, k.position, k.contact
           LIMIT q.lim) m
       ORDER BY q.i, m.position = 0 DESC, coalesce(m.updated_at, 0) DESC, m.position, m.contact`,
  };
  const slots = Math.max(1, Math.floor((pool.options.max ?? 10) / 2));
  let waiting: Waiting[] = [];
  let reading = 0;
  let scheduled = false;

  const read = async (batch: readonly Waiting[]) => {
    reading++;
    try {
      const alone = batch.length === 1 ? batch[0] : undefined;
      if (alone) {
        const { rows } = await pool.query<MatchRow>({
          ...one,
          values: [alone.key, alone.source, alone.limit],
        });
        alone.resolve(rows.map(toMatch));
        return;
      }
      const { rows } = await pool.query<MatchRow & { i: string }>({
        ...many,
        values: [batch.map((w) => w.key), batch.map((w) => w.source), batch.map((w) => w.limit)],
      });
      const found: ContactMatch[][] = batch.map(() => []);
      for (const row of rows) found[Number(row.i) - 1]?.push(toMatch(row));
      for (const [i, w] of batch.entries()) w.resolve(found[i]!);
    } catch (error) {
      for (const w of batch) w.reject(error);
    } finally {
      reading--;
      if (waiting.length > 0) flush();
    }
  };
  const flush = () => {
    scheduled = false;
    while (waiting.length > 0 && reading < slots) {
      const batch = waiting.length <= MAX_BATCH ? waiting : waiting.slice(0, MAX_BATCH);
      waiting = waiting.length <= MAX_BATCH ? [] : waiting.slice(MAX_BATCH);
      void read(batch);
    }
  };
  return (source, key, limit) =>
    new Promise<ContactMatch[]>((resolve, reject) => {
      waiting.push({ source, key, limit, resolve, reject });
      if (!scheduled && reading < slots) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}

/**
 * One import in one transaction on a connection of its own. Imports of the same source, from this
 * instance or another, take their turn (an advisory lock held until the commit), so that a replace
 * never mixes with another import of the source.
 */
async function startPostgresImport(
  { client, release }: Awaited<ReturnType<typeof holdConnection>>,
  s: string,
  source: string,
  replace: boolean,
  onEnd: () => void,
): Promise<ImportSession> {
  await client.query('BEGIN');
  await lockNames(client, `callcard.import${s}`, [source]);
  await client.query(`INSERT INTO ${s}.sources (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [source]);
  const { rows } = await client.query<{ id: number }>(`SELECT id FROM ${s}.sources WHERE name = $1`, [
    source,
  ]);
  const id = rows[0]!.id;
  if (replace) {
    // The ids replaced, so that the commit can tell how many contacts are gone for good.
    await client.query(
      `CREATE TEMP TABLE replaced ON COMMIT DROP AS SELECT id FROM ${s}.contacts WHERE source = $1`,
      [id],
    );
    await client.query(`DELETE FROM ${s}.phone_keys WHERE source = $1`, [id]);
    await client.query(`DELETE FROM ${s}.contacts WHERE source = $1`, [id]);
  }

  let open = true;
  let written = 0;
  let removedById = 0;
  const end = async (sql: 'COMMIT' | 'ROLLBACK') => {
    if (!open) return;
    open = false;
    let broken = false;
    try {
      await client.query(sql);
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      release(broken);
      onEnd();
    }
  };
  // A statement that fails leaves the transaction unusable: the session ends there.
  const run = async <T>(work: () => Promise<T>): Promise<T> => {
    if (!open) throw new Error('the import has ended');
    try {
      return await work();
    } catch (error) {
      await end('ROLLBACK').catch(() => {});
      throw error;
    }
  };

  /** The contacts' numbers in the key index go; answers how many of `ids` were there. */
  const dropKeys = async (ids: readonly string[]) => {
    await client.query(
      `DELETE FROM ${s}.phone_keys k
        USING ${s}.contacts c, jsonb_array_elements(c.phones) p
        WHERE c.source = $1 AND c.id = ANY($2::text[])
          AND k.key = p ->> 'key' AND k.source = $1 AND k.contact = c.seq`,
      [id, ids],
    );
  };

  const writeBatch = async (records: readonly ContactRecord[]) => {
    // Within one batch an id written twice is written once, as its last row.
    const last = new Map<string, ContactRecord>();
    for (const record of records) last.set(record.id, record);
    const batch = [...last.values()];
    const ids = batch.map((record) => record.id);
    await dropKeys(ids);
    const column = <T>(pick: (record: ContactRecord) => T) => batch.map(pick);
    const saved = await client.query<{ seq: string; id: string }>(
      `INSERT INTO ${s}.contacts (source, id, name, company, contact_uri, company_uri, custom_data, phones, updated_at)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                $8::jsonb[], $9::bigint[])
       ON CONFLICT (source, id) DO UPDATE SET
         name = excluded.name, company = excluded.company, contact_uri = excluded.contact_uri,
         company_uri = excluded.company_uri, custom_data = excluded.custom_data, phones = excluded.phones,
         updated_at = excluded.updated_at
       RETURNING seq, id`,
      [
        id,
        ids,
        column((r) => r.name ?? null),
        column((r) => r.company ?? null),
        column((r) => r.contactUri ?? null),
        column((r) => r.companyUri ?? null),
        column((r) =>
          r.customData && Object.keys(r.customData).length > 0 ? JSON.stringify(r.customData) : null,
        ),
        column((r) => JSON.stringify(r.phones)),
        column((r) => r.updatedAt ?? null),
      ],
    );
    const seqOf = new Map(saved.rows.map((row) => [row.id, row.seq]));
    const keys: string[] = [];
    const contacts: string[] = [];
    const positions: number[] = [];
    for (const record of batch) {
      record.phones.forEach((phone, position) => {
        keys.push(phone.key);
        contacts.push(seqOf.get(record.id)!);
        positions.push(position);
      });
    }
    // A number given twice to one contact is one key, at its first place.
    await client.query(
      `INSERT INTO ${s}.phone_keys (key, source, contact, position)
       SELECT key, $1, contact, min(position) FROM unnest($2::text[], $3::bigint[], $4::integer[])
         AS t(key, contact, position)
       GROUP BY key, contact
       ON CONFLICT DO NOTHING`,
      [id, keys, contacts, positions],
    );
  };

  return {
    async write(records) {
      await run(() => writeBatch(records));
      written += records.length;
    },
    async remove(contactIds) {
      return run(async () => {
        await dropKeys(contactIds);
        const removed = await client.query(
          `DELETE FROM ${s}.contacts WHERE source = $1 AND id = ANY($2::text[])`,
          [id, [...new Set(contactIds)]],
        );
        removedById += removed.rowCount ?? 0;
        return removed.rowCount ?? 0;
      });
    },
    async commit(syncState) {
      const counts = await run(async () => {
        let removed = removedById;
        if (replace) {
          // Replacing, a contact is gone when it was there before and was not written again.
          const { rows } = await client.query<{ n: string }>(
            `SELECT count(*) AS n FROM replaced r
              WHERE NOT EXISTS (SELECT 1 FROM ${s}.contacts c WHERE c.source = $1 AND c.id = r.id)`,
            [id],
          );
          removed = Number(rows[0]!.n);
        }
        const counts = { contacts: written, removed };
        if (syncState) {
          await client.query(
            `INSERT INTO ${s}.sync_state (source, state) VALUES ($1, $2)
             ON CONFLICT (source) DO UPDATE SET state = excluded.state`,
            [source, JSON.stringify(syncState(counts))],
          );
        }
        return counts;
      });
      await end('COMMIT');
      return counts;
    },
    async abort() {
      await end('ROLLBACK');
    },
  };
}

interface SearchRow extends Omit<MatchRow, 'position'> {
  seq: string;
  phones: PhoneEntry[];
  source: string;
  sort: string;
}

function toFound(row: SearchRow): FoundContact {
  const { primary: _, ...match } = toMatch({ ...row, position: 0 });
  return { ...match, source: row.source, phones: row.phones };
}

function toMatch(row: MatchRow): ContactMatch {
  return {
    id: row.id,
    ...(row.name !== null && { name: row.name }),
    ...(row.company !== null && { company: row.company }),
    ...(row.contact_uri !== null && { contactUri: row.contact_uri }),
    ...(row.company_uri !== null && { companyUri: row.company_uri }),
    ...(row.custom_data !== null && { customData: JSON.parse(row.custom_data) as Record<string, string> }),
    ...(row.updated_at !== null && { updatedAt: Number(row.updated_at) }),
    primary: row.position === 0,
  };
}
