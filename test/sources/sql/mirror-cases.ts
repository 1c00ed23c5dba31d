/**
 * Cases every sql driver passes with a table mapping, beyond the shared source contract: the
 * mapping itself (company through a join, details, links), incremental syncs with soft deletes,
 * hard deletes at the next full sync, live search by a canonical column, and parameterisation.
 * Each driver's test file runs them against its own server with `mirrorCases`.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createLiveFinder } from '../../../src/lookup/live.js';
import type { Source } from '../../../src/sources/types.js';
import { openSqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../../src/store/types.js';
import { tempDir } from '../../support/helper.js';
import { listAll, never, searchQuery, sqlDateTime, sqlSource, syncer } from '../../support/sql.js';

/** One database, seen the same way whatever the driver. */
export interface Backend {
  readonly driver: 'postgres' | 'mysql' | 'sqlite';
  /** How a source reaches it: `{ url }` or `{ file }`. */
  readonly connection: Record<string, string>;
  /** The name a table is created and mapped under (qualified with the test's schema if needed). */
  table(name: string): string;
  /** Runs SQL written with `?` placeholders. */
  exec(sql: string, params?: unknown[]): Promise<void>;
  count(table: string): Promise<number>;
  /** Column types: a text key, a text, a time of change, a flag. */
  readonly types: {
    readonly key: string;
    readonly text: string;
    readonly time: string;
    readonly flag: string;
  };
  /** A flag's value as the driver writes it. */
  flag(value: boolean): unknown;
  /** SQL concatenating two expressions. */
  concat(a: string, b: string): string;
}

const DAY = 86_400_000;
const T = Date.UTC(2025, 5, 1, 12, 0, 0);

// Contacts as a CRM keeps them: numbers as people type them, a soft-deleted row, a row without a
// number, an id that needs escaping in a link, and a note that looks like SQL.
const PEOPLE = [
  {
    id: 'p1',
    name: 'Alexa Holiday',
    company: 'co1',
    tel: '+41 (0)21 552 20 00',
    mobile: '079 123 45 67',
    key: '+41215522000',
    no: 'K-1001',
    note: 'Prefers French',
    at: T - 10 * DAY,
  },
  {
    id: 'p2',
    name: 'Bruno Keller',
    company: 'co2',
    tel: '044 668 18 00',
    mobile: null,
    key: '+41446681800',
    no: 'K-1002',
    note: null,
    at: T - 9 * DAY,
  },
  {
    id: 'p3',
    name: 'Claire Dubois',
    company: null,
    tel: '+33 1 42 68 53 00',
    mobile: null,
    key: '+33142685300',
    no: null,
    note: "'); DROP TABLE people; --",
    at: T - 8 * DAY,
  },
  {
    id: 'p4',
    name: 'Gone Person',
    company: 'co1',
    tel: '031 310 20 30',
    mobile: null,
    key: '+41313102030',
    no: null,
    note: null,
    at: T - 7 * DAY,
    deleted: true,
  },
  {
    id: 'c/5 x',
    name: 'Dora Eng',
    company: 'co1',
    tel: '058 123 45 67',
    mobile: null,
    key: '+41581234567',
    no: null,
    note: null,
    at: T - 6 * DAY,
  },
  {
    id: 'p6',
    name: 'No Number',
    company: null,
    tel: null,
    mobile: null,
    key: null,
    no: null,
    note: null,
    at: T - 11 * DAY,
  },
];

export function mirrorCases(backend: () => Backend): void {
  let b: Backend;
  let people: string;
  let companies: string;
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  const sources: Source[] = [];
  let n = 0;

  const make = (extra: Record<string, unknown> = {}) => {
    const source = sqlSource({
      driver: b.driver,
      ...b.connection,
      table: {
        name: people,
        id: 'id',
        fullName: 'full_name',
        companyJoin: { table: companies, on: 'company_id' },
        phones: ['tel', 'mobile'],
        updatedAt: 'modified',
        deleted: 'is_deleted',
        custom: { 'Customer no.': 'customer_no', Note: 'note', 'Segment "ABC"': 'segment' },
      },
      contactUrl: 'https://crm.example/people/{id}',
      companyUrl: 'https://crm.example/companies/{company_id}',
      ...extra,
    });
    sources.push(source);
    return source;
  };

  beforeAll(() => {
    b = backend();
  });

  beforeEach(async () => {
    n++;
    people = b.table(`people_${n}`);
    companies = b.table(`companies_${n}`);
    const { key, text, time, flag } = b.types;
    await b.exec(`CREATE TABLE ${companies} (id ${key} PRIMARY KEY, name ${text})`);
    await b.exec(
      `CREATE TABLE ${people} (id ${key} PRIMARY KEY, full_name ${text}, company_id ${key}, tel ${text},
        mobile ${text}, phone_key ${key}, customer_no ${text}, note ${text}, segment ${text},
        modified ${time}, is_deleted ${flag})`,
    );
    await b.exec(`CREATE INDEX people_${n}_key ON ${people} (phone_key)`);
    await b.exec(`INSERT INTO ${companies} (id, name) VALUES (?, ?), (?, ?)`, [
      'co1',
      'White Cross Co',
      'co2',
      'Green Leaf AG',
    ]);
    for (const p of PEOPLE) {
      await b.exec(
        `INSERT INTO ${people} (id, full_name, company_id, tel, mobile, phone_key, customer_no, note, segment,
          modified, is_deleted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          p.id,
          p.name,
          p.company,
          p.tel,
          p.mobile,
          p.key,
          p.no,
          p.note,
          p.id === 'p1' ? 'A' : null,
          sqlDateTime(p.at),
          b.flag(p.deleted === true),
        ],
      );
    }
    dir = tempDir();
    store = openSqliteStore(dir.path);
  });

  afterEach(async () => {
    for (const source of sources.splice(0)) await source.close?.();
    await store.close();
    dir.remove();
    await b.exec(`DROP TABLE ${people}`);
    await b.exec(`DROP TABLE ${companies}`);
  });

  afterAll(async () => {
    for (const source of sources.splice(0)) await source.close?.();
  });

  it('mirrors the mapped table: names, company through the join, details and links; deleted rows left out', async () => {
    const mirror = syncer(store, make());
    const report = await mirror.sync();
    expect(report).toMatchObject({ full: true, skipped: 1 });
    expect(report.error).toBeUndefined();

    expect(await mirror.find('+41215522000')).toEqual([
      {
        id: 'p1',
        primary: true,
        name: 'Alexa Holiday',
        company: 'White Cross Co',
        contactUri: 'https://crm.example/people/p1',
        companyUri: 'https://crm.example/companies/co1',
        customData: { 'Customer no.': 'K-1001', Note: 'Prefers French', 'Segment "ABC"': 'A' },
        updatedAt: T - 10 * DAY,
      },
    ]);
    // The second number column, typed nationally.
    expect(await mirror.find('+41791234567')).toEqual([
      expect.objectContaining({ id: 'p1', primary: false }),
    ]);
    expect(await mirror.ids('+41446681800')).toEqual(['p2']);
    // No company: neither a name nor a company link.
    const [claire] = await mirror.find('+33142685300');
    expect(claire).toMatchObject({ id: 'p3', name: 'Claire Dubois' });
    expect(claire?.company).toBeUndefined();
    expect(claire?.companyUri).toBeUndefined();
    // A value that looks like SQL is only data.
    expect(claire?.customData).toEqual({ Note: "'); DROP TABLE people; --" });
    // The id is escaped in the link.
    expect((await mirror.find('+41581234567'))[0]?.contactUri).toBe('https://crm.example/people/c%2F5%20x');
    // Soft-deleted.
    expect(await mirror.ids('+41313102030')).toEqual([]);
    expect(await store.contacts.count('crm')).toBe(4);
  });

  it('an incremental sync reads only the changed rows, and the index follows a changed number', async () => {
    const source = make();
    const mirror = syncer(store, source);
    expect((await mirror.sync()).full).toBe(true);

    await b.exec(`UPDATE ${people} SET tel = ?, modified = ? WHERE id = ?`, [
      '043 222 33 44',
      sqlDateTime(T + DAY),
      'p2',
    ]);
    const report = await mirror.sync();
    expect(report.error).toBeUndefined();
    expect(report.full).toBe(false);
    // The changed row, and the latest row before it, which the engine asks for again in case it
    // was committed while the last sync ran (a minute of overlap).
    expect(report.read).toBe(2);
    expect(await mirror.ids('+41446681800')).toEqual([]);
    expect(await mirror.ids('+41432223344')).toEqual(['p2']);
    // The others are still there.
    expect(await mirror.ids('+41215522000')).toEqual(['p1']);

    // What the listing of changes holds, asked directly.
    expect((await listAll(source, T)).map((c) => c.id)).toEqual(['p2']);
  });

  it('an incremental sync removes a row soft-deleted since the last one', async () => {
    const mirror = syncer(store, make());
    await mirror.sync();
    expect(await mirror.ids('+33142685300')).toEqual(['p3']);

    await b.exec(`UPDATE ${people} SET is_deleted = ?, modified = ? WHERE id = ?`, [
      b.flag(true),
      sqlDateTime(T + DAY),
      'p3',
    ]);
    const report = await mirror.sync();
    expect(report).toMatchObject({ full: false, removed: 1 });
    expect(await mirror.ids('+33142685300')).toEqual([]);
    expect(await store.contacts.count('crm')).toBe(3);
  });

  it('a row deleted outright goes at the next full sync (a listing of changes cannot see it)', async () => {
    const mirror = syncer(store, make());
    await mirror.sync();
    await b.exec(`DELETE FROM ${people} WHERE id = ?`, ['p2']);

    expect((await mirror.sync()).full).toBe(false);
    expect(await mirror.ids('+41446681800')).toEqual(['p2']);

    const report = await mirror.sync({ full: true });
    expect(report).toMatchObject({ full: true });
    expect(report.error).toBeUndefined();
    expect(await mirror.ids('+41446681800')).toEqual([]);
    expect(await mirror.ids('+41215522000')).toEqual(['p1']);
  });

  it('finds a number live through an indexed column of canonical numbers, leaving deleted rows out', async () => {
    const source = make({ search: { column: 'phone_key' } });
    const find = createLiveFinder(source, 'CH', { ttlMs: 0, missTtlMs: 0, maxEntries: 10 });

    const found = await find(searchQuery('+41215522000'), { signal: never() });
    expect(found.matches).toEqual([
      expect.objectContaining({
        id: 'p1',
        primary: true,
        name: 'Alexa Holiday',
        company: 'White Cross Co',
        companyUri: 'https://crm.example/companies/co1',
        customData: { 'Customer no.': 'K-1001', Note: 'Prefers French', 'Segment "ABC"': 'A' },
      }),
    ]);
    expect(found.dropped).toBeUndefined();
    expect((await find(searchQuery('+41313102030'), { signal: never() })).matches).toEqual([]);
    expect((await find(searchQuery('+41440000000'), { signal: never() })).matches).toEqual([]);
  });

  it('passes numbers as parameters: a number made of SQL finds nothing and harms nothing', async () => {
    const evil = "'; DROP TABLE people; --";
    const hostile = {
      key: evil,
      forms: { e164: evil, digits: evil, national: evil, international: evil },
      region: 'CH' as const,
      limit: 5,
    };
    const byColumn = make({ search: { column: 'phone_key' } });
    const byQuery = make({
      search: {
        query: `SELECT id, full_name AS name, tel AS phone FROM ${people}
                 WHERE phone_key = :e164 OR tel LIKE ${b.concat("'%'", ':digits')} OR tel = :national
                 OR tel = :international LIMIT :limit`,
      },
    });
    expect(await byColumn.search!(hostile, { signal: never() })).toEqual([]);
    expect(await byQuery.search!(hostile, { signal: never() })).toEqual([]);
    expect(await b.count(people)).toBe(PEOPLE.length);
    expect(await b.count(companies)).toBe(2);
    // The same query still finds a real number.
    expect(
      (await byQuery.search!(searchQuery('+41215522000'), { signal: never() })).map((c) => c.id),
    ).toEqual(['p1']);
  });
}
