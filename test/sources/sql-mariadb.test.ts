/**
 * The sql source against the machine's MariaDB server (driver `mysql`), in a database of its own.
 * A source that must lose its server talks to it through a TCP relay, which `down()` closes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLiveFinder } from '../../src/lookup/live.js';
import type { Source } from '../../src/sources/types.js';
import { tempDir } from '../helper.js';
import { listingContract, sourceContract } from './contract.js';
import { cancellationCases } from './sql/cancellation-cases.js';
import { contactRows, valuesOf } from './sql/contract-rows.js';
import { mirrorCases } from './sql/mirror-cases.js';
import {
  describeWithServer,
  listAll,
  MY_PORT,
  type MysqlDatabase,
  mysqlDatabase,
  mysqlUnavailable,
  mysqlUrl,
  never,
  relay,
  searchQuery,
  sqlSource,
  uniqueName,
} from './sql/support.js';

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

  const contactsTable = async (contacts: Parameters<typeof contactRows>[0]) => {
    const table = `contacts_${++n}`;
    await db.exec(
      `CREATE TABLE ${table} (id varchar(64) PRIMARY KEY, name varchar(255), company varchar(255),
        phone varchar(100), phone2 varchar(100), updated_at datetime(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
        deleted tinyint(1) NOT NULL DEFAULT 0)`,
    );
    const rows = valuesOf(contactRows(contacts));
    await db.exec(`INSERT INTO ${table} (id, name, company, phone, phone2) VALUES ${rows.sql}`, rows.params);
    return table;
  };

  sourceContract('mariadb, table mapping, mirror', async (contacts) => {
    const table = await contactsTable(contacts);
    const cut = await relay(MY_PORT);
    const source = sqlSource({
      driver: 'mysql',
      url: db.url(cut.port),
      table: {
        name: table,
        id: 'id',
        fullName: 'name',
        company: 'company',
        phones: ['phone', 'phone2'],
        updatedAt: 'updated_at',
        deleted: 'deleted',
      },
    });
    return {
      source,
      mode: 'mirror',
      down: () => cut.close(),
      teardown: async () => {
        await cut.close();
        await db.exec(`DROP TABLE ${table}`);
      },
    };
  });

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
    const cut = await relay(MY_PORT);
    const source = sqlSource({
      driver: 'mysql',
      url: db.url(cut.port),
      query: `SELECT p.pid AS id, p.display AS name, p.org AS company,
                     (SELECT GROUP_CONCAT(x.number ORDER BY x.position SEPARATOR '; ')
                        FROM numbers_${id} x WHERE x.pid = p.pid) AS phone,
                     p.changed AS updated_at
                FROM people_${id} p`,
    });
    return {
      source,
      mode: 'mirror',
      down: () => cut.close(),
      teardown: async () => {
        await cut.close();
        await db.exec(`DROP TABLE people_${id}, numbers_${id}`);
      },
    };
  });

  // Live with a fuzzy search of one's own: the last seven digits, whatever the formatting. It
  // returns near misses (the same digits in France), which the core's re-check drops; exact
  // matches are ordered first, so that a small limit still gets a real one.
  const FUZZY = (table: string) => {
    const digits = (column: string) => `REGEXP_REPLACE(${column}, '[^0-9]', '')`;
    const exact = (column: string) => `${digits(column)} IN (:digits, :national)`;
    return `SELECT id, name, company, phone, phone2 FROM ${table}
             WHERE ${digits('phone')} LIKE CONCAT('%', RIGHT(:digits, 7))
                OR ${digits('phone2')} LIKE CONCAT('%', RIGHT(:digits, 7))
             ORDER BY (${exact('phone')} OR ${exact('phone2')}) DESC, id
             LIMIT :limit`;
  };
  sourceContract('mariadb, fuzzy search query, live', async (contacts) => {
    const table = await contactsTable(contacts);
    const cut = await relay(MY_PORT);
    const source = sqlSource({
      driver: 'mysql',
      url: db.url(cut.port),
      query: `SELECT id, name, company, phone, phone2 FROM ${table}`,
      search: { query: FUZZY(table) },
    });
    return {
      source,
      mode: 'live',
      down: () => cut.close(),
      teardown: async () => {
        await cut.close();
        await db.exec(`DROP TABLE ${table}`);
      },
    };
  });

  describe('fuzzy search query', () => {
    let source: Source;
    let table: string;
    beforeAll(async () => {
      const { CONTRACT_CONTACTS } = await import('./contract.js');
      table = await contactsTable(CONTRACT_CONTACTS);
      source = sqlSource({
        driver: 'mysql',
        url: db.url(),
        query: `SELECT id, name, company, phone, phone2 FROM ${table}`,
        search: { query: FUZZY(table) },
      });
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

  describe('table mapping', () => {
    mirrorCases(() => ({
      driver: 'mysql',
      connection: { url: db.url() },
      table: (name) => name,
      exec: (sql, params) => db.exec(sql, params),
      count: async (table) =>
        Number((await db.rows<{ n: number }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n),
      types: { key: 'varchar(64)', text: 'varchar(255)', time: 'datetime', flag: 'tinyint(1)' },
      flag: (value) => (value ? 1 : 0),
      concat: (a, b) => `CONCAT(${a}, ${b})`,
    }));
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
      table = await contactsTable([
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

  describe('cancellation', () => {
    /** The test database's sessions running a statement that names `table`. */
    const running = async (table: string): Promise<number[]> => {
      const rows = await db.rows<{ id: number }>(
        `SELECT ID AS id FROM information_schema.PROCESSLIST
          WHERE COMMAND = 'Query' AND DB = DATABASE() AND LOCATE(?, INFO) > 0 AND ID <> CONNECTION_ID()`,
        [table],
      );
      return rows.map((row) => row.id);
    };
    cancellationCases(() => ({
      driver: 'mysql',
      url: db.url(),
      table: (name) => `${name}_${++n}`,
      exec: (sql, params) => db.exec(sql, params),
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
    }));
  });

  // Many rows, made by the server (MariaDB's sequence tables), read in small batches.
  listingContract('mariadb, 50 000 rows in batches of 100', async () => {
    const cut = await relay(MY_PORT);
    const query = `SELECT seq AS id, CONCAT('Person ', seq) AS name, CONCAT('+4144', LPAD(seq, 7, '0')) AS phone
                     FROM seq_1_to_50000`;
    return {
      source: sqlSource({ driver: 'mysql', url: db.url(cut.port), query, batchSize: 100 }),
      rows: 50_000,
      down: () => cut.close(),
      teardown: () => cut.close(),
    };
  });
});
