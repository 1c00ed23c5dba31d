/**
 * The sql source against the machine's MariaDB server (driver `mysql`), in a database of its own:
 * the cases every server passes (./sql/server-cases.ts), then MariaDB's own.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLiveFinder } from '../../src/lookup/live.js';
import type { Source } from '../../src/sources/types.js';
import { tempDir } from '../support/helper.js';
import {
  describeWithServer,
  listAll,
  MY_PORT,
  type MysqlDatabase,
  mysqlDatabase,
  mysqlUnavailable,
  mysqlUrl,
  never,
  searchQuery,
  sqlSource,
  uniqueName,
} from '../support/sql.js';
import { CONTRACT_CONTACTS, sourceContract } from './contract.js';
import { valuesOf } from './sql/contract-rows.js';
import { contactsTable, type SqlServer, serverCases, throughRelay } from './sql/server-cases.js';

const unavailable = await mysqlUnavailable();

describeWithServer('sql source: MariaDB', unavailable, () => {
  let db: MysqlDatabase;
  let n = 0;
  beforeAll(async () => {
    db = await mysqlDatabase('cc_sql_my');
  });
  afterAll(async () => {
    await db?.drop();
  });

  /** The test database's sessions running a statement that names `table`. */
  const running = async (table: string): Promise<number[]> => {
    const rows = await db.rows<{ id: number }>(
      `SELECT ID AS id FROM information_schema.PROCESSLIST
        WHERE COMMAND = 'Query' AND DB = DATABASE() AND LOCATE(?, INFO) > 0 AND ID <> CONNECTION_ID()`,
      [table],
    );
    return rows.map((row) => row.id);
  };
  const mariadb: SqlServer = {
    driver: 'mysql',
    label: 'mariadb',
    port: MY_PORT,
    space: () => db,
    table: (name) => name,
    types: { key: 'varchar(64)', text: 'varchar(255)', time: 'datetime', flag: 'tinyint(1)' },
    updatedAt: 'datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)',
    flag: (value) => (value ? 1 : 0),
    concat: (a, b) => `CONCAT(${a}, ${b})`,
    // Rows made by MariaDB's sequence tables (seq_1_to_N).
    series: (
      rows,
    ) => `SELECT seq AS id, CONCAT('Person ', seq) AS name, CONCAT('+4144', LPAD(seq, 7, '0')) AS phone
                         FROM seq_1_to_${rows}`,
    // Busy with BENCHMARK, not asleep: MariaDB ends a SLEEP() of its own accord once the client
    // has gone, which would hide a search the source failed to stop (KILL QUERY).
    slowSearch: (table, slow) =>
      `SELECT id, name, phone FROM ${table}
        WHERE phone_key = :e164 AND BENCHMARK(CASE WHEN ${slow} THEN 100000000000 ELSE 0 END, MD5(id)) = 0
        LIMIT :limit`,
    running,
    cancel: async (table) => {
      for (const id of await running(table)) await db.exec(`KILL QUERY ${id}`);
    },
  };

  serverCases(mariadb);

  // A query of one's own: numbers in a table of their own, one row each, gathered into one field
  // in their order (the first is the contact's main number).
  sourceContract('mariadb, custom query, mirror', async (contacts) => {
    const id = ++n;
    await db.exec(
      `CREATE TABLE people_${id} (pid varchar(64) PRIMARY KEY, display varchar(255), org varchar(255),
        changed datetime NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
    );
    await db.exec(
      `CREATE TABLE numbers_${id} (pid varchar(64) NOT NULL, position int NOT NULL, number varchar(100) NOT NULL,
        PRIMARY KEY (pid, position))`,
    );
    const people = valuesOf(contacts.map((c) => [c.id, c.name, c.company ?? null]));
    await db.exec(`INSERT INTO people_${id} (pid, display, org) VALUES ${people.sql}`, people.params);
    const numbers = valuesOf(contacts.flatMap((c) => c.phones.map((p, i) => [c.id, i, p.value])));
    await db.exec(`INSERT INTO numbers_${id} VALUES ${numbers.sql}`, numbers.params);
    const query = `SELECT p.pid AS id, p.display AS name, p.org AS company,
                          (SELECT GROUP_CONCAT(x.number ORDER BY x.position SEPARATOR '; ')
                             FROM numbers_${id} x WHERE x.pid = p.pid) AS phone,
                          p.changed AS updated_at
                     FROM people_${id} p`;
    return throughRelay(mariadb, 'mirror', { query }, [`DROP TABLE people_${id}, numbers_${id}`]);
  });

  // Live with a fuzzy search of one's own: the last seven digits, whatever the formatting. It
  // returns near misses (the same digits in France), which the core's re-check drops; exact
  // matches are ordered first, so that a small limit still gets a real one.
  const fuzzy = (table: string) => {
    const digits = (column: string) => `REGEXP_REPLACE(${column}, '[^0-9]', '')`;
    const exact = (column: string) => `${digits(column)} IN (:digits, :national)`;
    return {
      query: `SELECT id, name, company, phone, phone2 FROM ${table}`,
      search: {
        query: `SELECT id, name, company, phone, phone2 FROM ${table}
                 WHERE ${digits('phone')} LIKE CONCAT('%', RIGHT(:digits, 7))
                    OR ${digits('phone2')} LIKE CONCAT('%', RIGHT(:digits, 7))
                 ORDER BY (${exact('phone')} OR ${exact('phone2')}) DESC, id
                 LIMIT :limit`,
      },
    };
  };
  sourceContract('mariadb, fuzzy search query, live', async (contacts) => {
    const table = await contactsTable(mariadb, contacts);
    return throughRelay(mariadb, 'live', fuzzy(table), [`DROP TABLE ${table}`]);
  });

  describe('fuzzy search query', () => {
    let source: Source;
    let table: string;
    beforeAll(async () => {
      table = await contactsTable(mariadb, CONTRACT_CONTACTS);
      source = sqlSource({ driver: 'mysql', url: db.url(), ...fuzzy(table) });
    });
    afterAll(async () => {
      await source?.close?.();
    });

    it('returns near misses, and the core keeps only the contacts that have the number exactly', async () => {
      // What the query itself returns: everyone ending in 552 20 00, in Switzerland or France.
      const raw = await source.search!(searchQuery('+33215522000'), { signal: never() });
      expect(raw.map((c) => c.id).sort()).toEqual(['a1', 'a2', 'a3']);

      const find = createLiveFinder(source, 'CH', { ttlMs: 0, missTtlMs: 0, maxEntries: 10 });
      const found = await find(searchQuery('+33215522000'), { signal: never() });
      expect(found.matches.map((m) => m.id)).toEqual(['a3']);
      expect(found.dropped?.map((d) => d.id).sort()).toEqual(['a1', 'a2']);
      expect(found.dropped?.[0]?.reason).toBe('no number equal to +33215522000');
    });
  });

  describe('password', () => {
    // A user of its own whose password would need escaping in a URL.
    const user = uniqueName('cc_pw').slice(0, 32);
    const password = 'S3cret: p@ss/word; "quoted"';
    const ENV = 'CALLCARD_TEST_SQL_PASSWORD';
    let dir: ReturnType<typeof tempDir>;
    let table: string;
    const sources: Source[] = [];
    const make = (config: Record<string, unknown>) => {
      const source = sqlSource(
        {
          driver: 'mysql',
          url: mysqlUrl(db.name, MY_PORT, user),
          table: { name: table, id: 'id', fullName: 'name', phones: ['phone'] },
          ...config,
        },
        { baseDir: dir.path },
      );
      sources.push(source);
      return source;
    };

    beforeAll(async () => {
      dir = tempDir();
      table = await contactsTable(mariadb, [
        { id: 'x1', name: 'Xenia Secure', phones: [{ value: '044 668 18 00' }], customData: {} },
      ]);
      await db.exec(`CREATE USER '${user}'@'%' IDENTIFIED BY ?`, [password]);
      await db.exec(`GRANT SELECT ON \`${db.name}\`.* TO '${user}'@'%'`);
    });
    afterEach(async () => {
      delete process.env[ENV];
      for (const source of sources.splice(0)) await source.close?.();
    });
    afterAll(async () => {
      await db.exec(`DROP USER IF EXISTS '${user}'@'%'`);
      dir.remove();
    });

    it('is read from the environment variable passwordEnv names', async () => {
      process.env[ENV] = password;
      expect((await listAll(make({ passwordEnv: ENV }))).map((c) => c.id)).toEqual(['x1']);
    });

    it('is read from passwordFile, relative to the config, without its final newline', async () => {
      writeFileSync(join(dir.path, 'db.password'), `${password}\n`);
      expect((await listAll(make({ passwordFile: 'db.password' }))).map((c) => c.id)).toEqual(['x1']);
    });

    it('is needed: without it, or with a wrong one, the server refuses', async () => {
      await expect(listAll(make({}))).rejects.toThrow(/Access denied/);
      process.env[ENV] = 'wrong';
      await expect(listAll(make({ passwordEnv: ENV }))).rejects.toThrow(/Access denied/);
    });
  });
});
