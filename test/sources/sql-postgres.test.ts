/**
 * The sql source against the machine's PostgreSQL server, in a schema of its own.
 * A source that must lose its server talks to it through a TCP relay, which `down()` closes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Source } from '../../src/sources/types.js';
import { sourceContract } from './contract.js';
import { contactRows, numberRows, valuesOf } from './sql/contract-rows.js';
import { mirrorCases } from './sql/mirror-cases.js';
import {
  describeWithServer,
  never,
  PG_PORT,
  type PgSchema,
  pgSchema,
  pgUnavailable,
  pgUrl,
  relay,
  searchQuery,
  settleTime,
  sqlSource,
} from './sql/support.js';

const unavailable = await pgUnavailable();

describeWithServer('sql source: PostgreSQL', unavailable, () => {
  let schema: PgSchema;
  let n = 0;
  beforeAll(async () => {
    schema = await pgSchema('cc_sql_pg');
  });
  afterAll(async () => {
    await schema?.drop();
  });

  // A contacts table read with a mapping; its soft-delete flag is a real boolean.
  sourceContract('postgres, table mapping, mirror', async (contacts) => {
    const table = `${schema.name}.contacts_${++n}`;
    await schema.exec(
      `CREATE TABLE ${table} (id text PRIMARY KEY, name text, company text, phone text, phone2 text,
        updated_at timestamptz NOT NULL DEFAULT now(), deleted boolean NOT NULL DEFAULT false)`,
    );
    const rows = valuesOf(contactRows(contacts));
    await schema.exec(
      `INSERT INTO ${table} (id, name, company, phone, phone2) VALUES ${rows.sql}`,
      rows.params,
    );
    const cut = await relay(PG_PORT);
    const source = sqlSource({
      driver: 'postgres',
      url: pgUrl(cut.port),
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
        await schema.exec(`DROP TABLE ${table}`);
      },
    };
  });

  // Live: numbers kept once more in E.164 in an indexed column of their own table, one row per
  // number, joined to the contacts by a view that the mapping reads.
  sourceContract('postgres, indexed E.164 column, live', async (contacts) => {
    const id = ++n;
    const people = `${schema.name}.people_${id}`;
    const numbers = `${schema.name}.numbers_${id}`;
    const view = `${schema.name}.phonebook_${id}`;
    await schema.exec(
      `CREATE TABLE ${people} (id text PRIMARY KEY, name text, company text, phone text, phone2 text)`,
    );
    await schema.exec(
      `CREATE TABLE ${numbers} (contact_id text NOT NULL REFERENCES ${people}, phone_e164 text NOT NULL)`,
    );
    await schema.exec(`CREATE INDEX ON ${numbers} (phone_e164)`);
    await schema.exec(
      `CREATE VIEW ${view} AS SELECT p.*, k.phone_e164 FROM ${people} p JOIN ${numbers} k ON k.contact_id = p.id`,
    );
    const rows = valuesOf(contactRows(contacts));
    await schema.exec(`INSERT INTO ${people} VALUES ${rows.sql}`, rows.params);
    const keys = valuesOf(numberRows(contacts));
    await schema.exec(`INSERT INTO ${numbers} VALUES ${keys.sql}`, keys.params);
    const cut = await relay(PG_PORT);
    const source = sqlSource({
      driver: 'postgres',
      url: pgUrl(cut.port),
      table: { name: view, id: 'id', fullName: 'name', company: 'company', phones: ['phone', 'phone2'] },
      search: { column: 'phone_e164' },
    });
    return {
      source,
      mode: 'live',
      down: () => cut.close(),
      teardown: async () => {
        await cut.close();
        await schema.exec(`DROP VIEW ${view}`);
        await schema.exec(`DROP TABLE ${numbers}, ${people}`);
      },
    };
  });

  describe('table mapping', () => {
    mirrorCases(() => ({
      driver: 'postgres',
      connection: { url: pgUrl() },
      table: (name) => `${schema.name}.${name}`,
      exec: (sql, params) => schema.exec(sql, params),
      count: async (table) =>
        Number((await schema.rows<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n),
      types: { key: 'text', text: 'text', time: 'timestamp(3)', flag: 'boolean' },
      flag: (value) => value,
      concat: (a, b) => `${a} || ${b}`,
    }));
  });

  describe('cancellation', () => {
    let table: string;
    let source: Source;
    const SLOW = '+41449999999';
    beforeAll(async () => {
      table = `${schema.name}.slow_${++n}`;
      await schema.exec(`CREATE TABLE ${table} (id text PRIMARY KEY, name text, phone text, phone_key text)`);
      await schema.exec(`INSERT INTO ${table} VALUES ('s1', 'Sam Slow', '044 999 99 99', '+41449999999'),
        ('f1', 'Fay Fast', '021 552 20 00', '+41215522000')`);
      // Slow for one number only, so that the same source can show it still answers afterwards.
      source = sqlSource({
        driver: 'postgres',
        url: pgUrl(),
        // A source needs a listing even when it is only asked live.
        query: `SELECT id, name, phone FROM ${table}`,
        search: {
          query: `SELECT t.id, t.name, t.phone
                    FROM ${table} t, pg_sleep(CASE WHEN :e164 = '${SLOW}' THEN 5 ELSE 0 END)
                   WHERE t.phone_key = :e164 LIMIT :limit`,
        },
      });
    });
    afterAll(async () => {
      await source?.close?.();
    });

    const sleeping = async () =>
      Number(
        (
          await schema.rows<{ n: string }>(
            `SELECT count(*) AS n FROM pg_stat_activity
              WHERE state = 'active' AND query LIKE '%pg_sleep(CASE%' AND pid <> pg_backend_pid()`,
          )
        )[0]!.n,
      );

    it('a slow live query settles as soon as its call is cancelled, and the server stops it', async () => {
      const controller = new AbortController();
      const call = source.search!(searchQuery(SLOW), { signal: controller.signal });
      setTimeout(() => controller.abort(new Error('lookup deadline')), 200);
      const { ms, error } = await settleTime(call);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toBe('lookup deadline');
      expect(ms).toBeLessThan(1500);
      // The statement does not go on running on the server until its own timeout.
      await expect.poll(sleeping, { timeout: 2500, interval: 100 }).toBe(0);
    });

    it('cancelled calls give their connections back: the pool answers after more cancellations than it has connections', async () => {
      for (let i = 0; i < 6; i++) {
        const controller = new AbortController();
        const call = source.search!(searchQuery(SLOW), { signal: controller.signal });
        setTimeout(() => controller.abort(new Error('cut off')), 50);
        expect((await settleTime(call)).ms).toBeLessThan(1500);
      }
      const { ms, error } = await settleTime(
        source.search!(searchQuery('+41215522000'), { signal: never() }),
      );
      expect(error).toBeUndefined();
      expect(ms).toBeLessThan(2000);
      expect(
        (await source.search!(searchQuery('+41215522000'), { signal: never() })).map((c) => c.id),
      ).toEqual(['f1']);
    });

    it('calls whose signal is already aborted settle at once and leave no connection behind', async () => {
      // More of them than the pool has connections: a connection taken for a call that was
      // already cut off must go back to the pool.
      for (let i = 0; i < 6; i++) {
        const controller = new AbortController();
        controller.abort(new Error('too late'));
        const { ms, error } = await settleTime(
          source.search!(searchQuery(SLOW), { signal: controller.signal }),
        );
        expect((error as Error).message).toBe('too late');
        expect(ms).toBeLessThan(200);
      }
      const { ms, error } = await settleTime(
        source.search!(searchQuery('+41215522000'), { signal: never() }),
      );
      expect(error).toBeUndefined();
      expect(ms).toBeLessThan(2000);
    });
  });

  describe('listing', () => {
    // Many rows, made by the server, read in small batches.
    const query = `SELECT g AS id, 'Person ' || g AS name, '+4144' || lpad(g::text, 7, '0') AS phone
                     FROM generate_series(1, 50000) g`;

    it('a listing cut off half-way settles at once, and the source lists again afterwards', async () => {
      const source = sqlSource({ driver: 'postgres', url: pgUrl(), query, batchSize: 100 });
      try {
        const controller = new AbortController();
        let batches = 0;
        const listing = (async () => {
          for await (const _ of source.list!({ signal: controller.signal })) {
            if (++batches === 2) controller.abort(new Error('shutting down'));
          }
        })();
        const { ms, error } = await settleTime(listing);
        expect((error as Error).message).toBe('shutting down');
        expect(ms).toBeLessThan(2000);
        expect(batches).toBe(2);
        let rows = 0;
        for await (const batch of source.list!({ signal: never() })) rows += batch.length;
        expect(rows).toBe(50_000);
      } finally {
        await source.close?.();
      }
    });

    it('a listing whose server goes away half-way fails, instead of waiting for ever', async () => {
      const cut = await relay(PG_PORT);
      const source = sqlSource({ driver: 'postgres', url: pgUrl(cut.port), query, batchSize: 100 });
      try {
        let batches = 0;
        const listing = (async () => {
          for await (const _ of source.list!({ signal: never() })) {
            if (++batches === 2) await cut.close();
          }
        })();
        const { ms, error } = await settleTime(listing);
        expect(error).toBeInstanceOf(Error);
        expect(ms).toBeLessThan(5000);
      } finally {
        await cut.close();
        const { ms } = await settleTime(source.close!());
        expect(ms).toBeLessThan(5000);
      }
    });
  });
});
