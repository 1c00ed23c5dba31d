/**
 * The sql source on a SQLite file (no server needed), and the checks of its configuration.
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { tempDir } from '../support/helper.js';
import { listAll, never, searchQuery, sqlSource, syncer } from '../support/sql.js';
import { sourceContract } from './contract.js';
import { contactRows, contactsMapping, valuesOf } from './sql/contract-rows.js';
import { mirrorCases } from './sql/mirror-cases.js';

function writeContacts(file: string, rows: unknown[][]): void {
  const db = new Database(file);
  db.exec(`CREATE TABLE contacts (id TEXT PRIMARY KEY, name TEXT, company TEXT, phone TEXT, phone2 TEXT,
    updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, deleted INTEGER NOT NULL DEFAULT 0)`);
  if (rows.length > 0) {
    const values = valuesOf(rows);
    db.prepare(`INSERT INTO contacts (id, name, company, phone, phone2) VALUES ${values.sql}`).run(
      ...values.params,
    );
  }
  db.close();
}

const MAPPING = contactsMapping('contacts');

// The file is the backend: `down()` removes it, as when a share goes away or a clean-up deletes it.
sourceContract('sqlite file, table mapping, mirror', async (contacts) => {
  const dir = tempDir();
  writeContacts(join(dir.path, 'crm.db'), contactRows(contacts));
  const source = sqlSource({ driver: 'sqlite', file: 'crm.db', table: MAPPING }, { baseDir: dir.path });
  return {
    source,
    mode: 'mirror',
    down: async () => rmSync(join(dir.path, 'crm.db')),
    teardown: async () => dir.remove(),
  };
});

describe('sql source: SQLite', () => {
  describe('table mapping', () => {
    let dir: ReturnType<typeof tempDir>;
    let db: Database.Database;
    beforeAll(() => {
      dir = tempDir();
      db = new Database(join(dir.path, 'crm.db'));
    });
    afterAll(() => {
      db.close();
      dir.remove();
    });
    mirrorCases(() => ({
      driver: 'sqlite',
      connection: { file: join(dir.path, 'crm.db') },
      table: (name) => name,
      exec: async (sql, params = []) => {
        db.prepare(sql).run(...params);
      },
      count: async (table) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n,
      types: { key: 'TEXT', text: 'TEXT', time: 'TEXT', flag: 'INTEGER' },
      flag: (value) => (value ? 1 : 0),
      concat: (a, b) => `${a} || ${b}`,
    }));
  });

  describe('address countries', () => {
    let dir: ReturnType<typeof tempDir>;
    let store: Store;
    beforeEach(() => {
      dir = tempDir();
      store = openSqliteStore(join(dir.path, 'index'));
      const db = new Database(join(dir.path, 'crm.db'));
      db.exec(`CREATE TABLE people (id TEXT PRIMARY KEY, name TEXT, phone TEXT, land TEXT);
        INSERT INTO people VALUES ('de', 'Deutsch', '089 / 123 45-67', 'Deutschland'),
                                  ('fr', 'Français', '01 23 45 67 89', 'FR'),
                                  ('ch', 'Suisse', '021 552 20 00', NULL),
                                  ('xx', 'Nowhere', '021 552 20 01', 'Atlantis');`);
      db.close();
    });
    afterEach(async () => {
      await store.close();
      dir.remove();
    });

    for (const [how, config] of [
      [
        'table: the country key',
        { table: { name: 'people', id: 'id', fullName: 'name', phones: ['phone'], country: 'land' } },
      ],
      ['query: a country column', { query: 'SELECT id, name, phone, land AS country FROM people' }],
    ] as const) {
      it(`${how} gives the region of national numbers; an unknown country keeps the contact`, async () => {
        const source = sqlSource({ driver: 'sqlite', file: 'crm.db', ...config }, { baseDir: dir.path });
        try {
          const mirror = syncer(store, source);
          expect(await mirror.sync()).toMatchObject({ written: 4, skipped: 0 });
          expect(await mirror.ids('+49891234567')).toEqual(['de']);
          expect(await mirror.ids('+33123456789')).toEqual(['fr']);
          expect(await mirror.ids('+41215522000')).toEqual(['ch']);
          expect(await mirror.ids('+41215522001')).toEqual(['xx']);
        } finally {
          await source.close?.();
        }
      });
    }
  });

  describe('the file', () => {
    let dir: ReturnType<typeof tempDir>;
    let store: Store;
    beforeEach(() => {
      dir = tempDir();
      store = openSqliteStore(join(dir.path, 'index'));
    });
    afterEach(async () => {
      await store.close();
      dir.remove();
    });

    it('replaced by a new export (written aside, renamed over the old one) is read at the next sync', async () => {
      const file = join(dir.path, 'crm.db');
      writeContacts(file, [['e1', 'Emma Export', null, '044 668 18 00', null]]);
      const source = sqlSource({ driver: 'sqlite', file, table: MAPPING });
      try {
        const mirror = syncer(store, source);
        await mirror.sync();
        expect(await mirror.ids('+41446681800')).toEqual(['e1']);

        writeContacts(`${file}.new`, [['e2', 'Finn Fresh', null, '021 552 20 00', null]]);
        renameSync(`${file}.new`, file);
        const report = await mirror.sync({ full: true });
        expect(report.error).toBeUndefined();
        expect(await mirror.ids('+41215522000')).toEqual(['e2']);
        expect(await mirror.ids('+41446681800')).toEqual([]);
      } finally {
        await source.close?.();
      }
    });

    it('that is not a database fails the sync, and the last good contacts stay', async () => {
      const file = join(dir.path, 'crm.db');
      writeContacts(file, [['e1', 'Emma Export', null, '044 668 18 00', null]]);
      const source = sqlSource({ driver: 'sqlite', file, table: MAPPING });
      try {
        const mirror = syncer(store, source);
        await mirror.sync();
        writeFileSync(`${file}.new`, 'name;phone\nEmma;044 668 18 00\n');
        renameSync(`${file}.new`, file);
        const report = await mirror.sync({ full: true });
        expect(report.error).toMatch(/not a database/);
        expect(await mirror.ids('+41446681800')).toEqual(['e1']);
      } finally {
        await source.close?.();
      }
    });

    it('is only read: the source cannot change it', async () => {
      const file = join(dir.path, 'crm.db');
      writeContacts(file, [['e1', 'Emma Export', null, '044 668 18 00', null]]);
      const source = sqlSource({
        driver: 'sqlite',
        file,
        table: MAPPING,
        search: { query: 'DELETE FROM contacts RETURNING id, name, phone' },
      });
      try {
        await expect(source.search!(searchQuery('+41446681800'), { signal: never() })).rejects.toThrow(
          /readonly/,
        );
        expect((await listAll(source)).map((c) => c.id)).toEqual(['e1']);
      } finally {
        await source.close?.();
      }
    });
  });
});

describe('sql source configuration', () => {
  const base = { driver: 'postgres', url: 'postgres://nobody@127.0.0.1:1/none' };

  it('takes one of table, query or preset', () => {
    expect(() => sqlSource(base)).toThrow(/give one of table, query or preset/);
    expect(() => sqlSource({ ...base, query: 'SELECT 1', table: MAPPING })).toThrow(/only one of/);
  });

  it('needs the CRM address for a preset, for the links', () => {
    expect(() => sqlSource({ ...base, driver: 'mysql', preset: 'suitecrm' })).toThrow(/needs baseUrl/);
  });

  it('searches by a column or by a query, not both', () => {
    expect(() =>
      sqlSource({ ...base, table: MAPPING, search: { column: 'phone', query: 'SELECT 1' } }),
    ).toThrow(/either column or query/);
    expect(() => sqlSource({ ...base, table: MAPPING, search: {} })).toThrow(/either column or query/);
  });

  it('accepts only plain names in a mapping, so that nothing can be slipped into the SQL through them', () => {
    for (const name of ['contacts; DROP TABLE x', 'a.b.c', 'con"tacts', '1contacts', 'contacts--']) {
      expect(() => sqlSource({ ...base, table: { ...MAPPING, name } }), name).toThrow(
        /plain table or column name/,
      );
    }
    expect(() => sqlSource({ ...base, table: { ...MAPPING, phones: ['phone) OR (1=1'] } })).toThrow(
      /plain table or column name/,
    );
    expect(() => sqlSource({ ...base, table: { ...MAPPING, phones: [] } })).toThrow(
      /at least one number column/,
    );
  });

  it('connects only when first used', async () => {
    // An unreachable server is a failed call, not a failed start.
    const source = sqlSource({ ...base, table: MAPPING });
    await expect(listAll(source)).rejects.toThrow();
    await source.close?.();
  });
});
