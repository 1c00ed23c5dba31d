/**
 * The contact index's contract, run against both stores: imports invisible until they commit,
 * replace and remove, ranking, counts and sync state.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { expect, it, vi } from 'vitest';
import { importFiles } from '../../src/import/importer.js';
import type { ContactRecord } from '../../src/store/types.js';
import { tempDir } from '../support/helper.js';
import { describeStores } from './support.js';

const SOURCE = 'contacts';

const contact = (id: string, key: string, name = id): ContactRecord => ({
  id,
  name,
  phones: [{ key, raw: key }],
});

describeStores('an import while lookups read the same store', (current) => {
  const ctx = {
    get store() {
      return current().store;
    },
    find: (key: string, source = SOURCE) => current().store.contacts.findByKey(source, key, 5),
    count: (source = SOURCE) => current().store.contacts.count(source),
  };
  const ids = async (key: string) => (await ctx.find(key)).map((match) => match.name);

  const seed = async () => {
    const session = await ctx.store.contacts.beginImport(SOURCE, { replace: true });
    await session.write([contact('a', '+41215522000', 'Old A'), contact('b', '+41215522001', 'Old B')]);
    await session.commit();
  };

  it('replace: lookups answer the previous contacts until commit, then only the new ones', async () => {
    await seed();
    const session = await ctx.store.contacts.beginImport(SOURCE, { replace: true });
    expect(await ids('+41215522000')).toEqual(['Old A']);
    expect(await ctx.count()).toBe(2);

    await session.write([contact('a', '+41215522009', 'New A'), contact('c', '+41215522002', 'New C')]);
    expect(await ids('+41215522000')).toEqual(['Old A']);
    expect(await ids('+41215522001')).toEqual(['Old B']);
    expect(await ids('+41215522009')).toEqual([]);
    expect(await ctx.count()).toBe(2);

    // Old B is gone; Old A was written again as New A.
    expect(await session.commit()).toEqual({ contacts: 2, removed: 1 });
    expect(await ids('+41215522000')).toEqual([]);
    expect(await ids('+41215522001')).toEqual([]);
    expect(await ids('+41215522009')).toEqual(['New A']);
    expect(await ids('+41215522002')).toEqual(['New C']);
    expect(await ctx.count()).toBe(2);
  });

  it('an update by id is visible only after commit', async () => {
    await seed();
    const session = await ctx.store.contacts.beginImport(SOURCE, { replace: false });
    await session.write([contact('a', '+41215522009', 'New A')]);
    expect(await session.remove(['b'])).toBe(1);
    expect(await ids('+41215522000')).toEqual(['Old A']);
    expect(await ids('+41215522001')).toEqual(['Old B']);

    await session.commit();
    expect(await ids('+41215522000')).toEqual([]);
    expect(await ids('+41215522009')).toEqual(['New A']);
    expect(await ids('+41215522001')).toEqual([]);
  });

  it('a replace that is aborted leaves the previous contacts; the next import runs', async () => {
    await seed();
    const session = await ctx.store.contacts.beginImport(SOURCE, { replace: true });
    await session.write([contact('c', '+41215522002')]);
    await expect(ctx.store.contacts.beginImport(SOURCE, { replace: true })).rejects.toThrow(/another import/);
    await session.abort();

    expect(await ids('+41215522000')).toEqual(['Old A']);
    expect(await ids('+41215522002')).toEqual([]);
    expect(await ctx.count()).toBe(2);
    const next = await ctx.store.contacts.beginImport(SOURCE, { replace: false });
    await next.write([contact('c', '+41215522002', 'C')]);
    expect(await next.commit()).toEqual({ contacts: 1, removed: 0 });
    expect(await ctx.count()).toBe(3);
  });

  it('the first import of a new source is invisible until commit, and gone after an abort', async () => {
    const aborted = await ctx.store.contacts.beginImport('new', { replace: false });
    await aborted.write([contact('n', '+41215522005')]);
    expect(await ctx.count('new')).toBe(0);
    await aborted.abort();
    expect(await ctx.count('new')).toBe(0);

    const session = await ctx.store.contacts.beginImport('new', { replace: false });
    await session.write([contact('n', '+41215522005', 'N')]);
    await session.commit();
    expect((await ctx.find('+41215522005', 'new')).map((match) => match.name)).toEqual(['N']);
  });

  it('closing the store rolls back an import still running', async () => {
    await seed();
    const session = await ctx.store.contacts.beginImport(SOURCE, { replace: true });
    await session.write([contact('c', '+41215522002')]);
    await ctx.store.close();
    await expect(session.write([contact('d', '+41215522003')])).rejects.toThrow(/ended/);

    const reopened = await current().reopen();
    expect(await reopened.contacts.count(SOURCE)).toBe(2);
    expect(await reopened.contacts.findByKey(SOURCE, '+41215522002', 5)).toEqual([]);
  });

  it('duplicate ids within one replace import: the last row wins', async () => {
    await seed();
    const dir = tempDir();
    const file = join(dir.path, 'dup.csv');
    writeFileSync(
      file,
      'id,name,phone\na,First A,021 552 20 10\nx,X,021 552 20 11\na,Last A,021 552 20 12\n',
    );
    const summary = await importFiles(ctx.store.contacts, {
      source: SOURCE,
      files: [file],
      replace: true,
      region: 'CH',
    }).finally(() => dir.remove());
    expect(summary.contacts).toBe(3);
    expect(await ctx.count()).toBe(2);
    expect(await ids('+41215522010')).toEqual([]);
    expect(await ids('+41215522012')).toEqual(['Last A']);
    expect(await ids('+41215522000')).toEqual([]);
  });
});

describeStores('the contact index', (current) => {
  const contacts = () => current().store.contacts;
  const load = async (records: ContactRecord[], source = SOURCE, replace = false) => {
    const session = await contacts().beginImport(source, { replace });
    await session.write(records);
    return session.commit();
  };

  it('answers a contact with every field it was written with, by any of its numbers', async () => {
    await load([
      {
        id: 'c1',
        name: 'Alexa Holiday',
        company: 'White Cross Co',
        contactUri: 'https://crm.example/c1',
        companyUri: 'https://crm.example/co/1',
        customData: { email: 'alexa@example.com', zeta: 'last', alpha: 'first' },
        phones: [
          { key: '+41215522000', raw: '021 552 20 00', label: 'phone' },
          { key: '+41791234567', raw: '079 123 45 67', label: 'mobile' },
        ],
        updatedAt: 1_700_000_000_123,
      },
      { id: 'c2', phones: [{ key: '+41215522999', raw: '0215522999' }] },
    ]);
    const [main] = await contacts().findByKey(SOURCE, '+41215522000', 5);
    expect(main).toEqual({
      id: 'c1',
      name: 'Alexa Holiday',
      company: 'White Cross Co',
      contactUri: 'https://crm.example/c1',
      companyUri: 'https://crm.example/co/1',
      customData: { email: 'alexa@example.com', zeta: 'last', alpha: 'first' },
      updatedAt: 1_700_000_000_123,
      primary: true,
    });
    // Custom data keeps the order it was written in: the card shows it so.
    expect(Object.keys(main!.customData!)).toEqual(['email', 'zeta', 'alpha']);
    expect(await contacts().findByKey(SOURCE, '+41791234567', 5)).toEqual([{ ...main, primary: false }]);
    expect(await contacts().findByKey(SOURCE, '+41215522999', 5)).toEqual([{ id: 'c2', primary: true }]);
    expect(await contacts().findByKey(SOURCE, '+41000000000', 5)).toEqual([]);
    expect(await contacts().findByKey('no-such-source', '+41215522000', 5)).toEqual([]);
  });

  it('ranks the contacts of a shared number: main number first, then the latest changed, up to the limit', async () => {
    const shared = '+41215520000';
    const other = { key: '+41215520001', raw: '1' };
    await load([
      { id: 'desk-old', phones: [other, { key: shared, raw: '2' }], updatedAt: 100 },
      { id: 'main-old', phones: [{ key: shared, raw: '3' }], updatedAt: 200 },
      { id: 'desk-new', phones: [other, { key: shared, raw: '4' }], updatedAt: 900 },
      { id: 'main-new', phones: [{ key: shared, raw: '5' }], updatedAt: 800 },
      { id: 'main-undated', phones: [{ key: shared, raw: '6' }] },
    ]);
    const ranked = (await contacts().findByKey(SOURCE, shared, 10)).map((match) => match.id);
    expect(ranked).toEqual(['main-new', 'main-old', 'main-undated', 'desk-new', 'desk-old']);
    expect((await contacts().findByKey(SOURCE, shared, 2)).map((match) => match.id)).toEqual([
      'main-new',
      'main-old',
    ]);
  });

  it('many lookups at once: each answers its own contacts, ranked, with its own limit and source', async () => {
    const shared = '+41215530000';
    await load([
      {
        id: 'desk',
        phones: [
          { key: '+41215530001', raw: '1' },
          { key: shared, raw: '2' },
        ],
        updatedAt: 900,
      },
      { id: 'main-old', phones: [{ key: shared, raw: '3' }], updatedAt: 200 },
      { id: 'main-new', phones: [{ key: shared, raw: '4' }], updatedAt: 800 },
      ...Array.from({ length: 60 }, (_, i) => contact(`solo-${i}`, `+4121554${String(i).padStart(4, '0')}`)),
    ]);
    await load([contact('elsewhere', shared)], 'other');
    const asked = Array.from({ length: 120 }, (_, i) => {
      if (i % 4 === 0) return { key: shared, limit: 1 + ((i / 4) % 4), source: SOURCE };
      if (i % 4 === 1) return { key: shared, limit: 5, source: 'other' };
      if (i % 4 === 2) return { key: `+4121554${String(i % 60).padStart(4, '0')}`, limit: 5, source: SOURCE };
      return { key: `+4121559${String(i).padStart(4, '0')}`, limit: 5, source: SOURCE };
    });
    const answers = await Promise.all(asked.map((q) => contacts().findByKey(q.source, q.key, q.limit)));
    answers.forEach((found, i) => {
      const q = asked[i]!;
      const ids = found.map((match) => match.id);
      if (i % 4 === 0) expect(ids).toEqual(['main-new', 'main-old', 'desk'].slice(0, q.limit));
      else if (i % 4 === 1) expect(ids).toEqual(['elsewhere']);
      else if (i % 4 === 2)
        expect(found).toEqual([{ id: `solo-${i % 60}`, name: `solo-${i % 60}`, primary: true }]);
      else expect(ids).toEqual([]);
    });
  });

  it('keeps sources apart: the same ids and numbers in two sources are two contacts', async () => {
    const phones = [{ key: '+41215522000', raw: '021 552 20 00' }];
    await load([{ id: 'x', name: 'In A', phones }], 'a');
    await load([{ id: 'x', name: 'In B', phones }], 'b');
    expect((await contacts().findByKey('a', '+41215522000', 5)).map((m) => m.name)).toEqual(['In A']);
    expect((await contacts().findByKey('b', '+41215522000', 5)).map((m) => m.name)).toEqual(['In B']);
    expect(await contacts().count('a')).toBe(1);
    expect(await contacts().count()).toBe(2);
    // A replace of one source leaves the other as it is.
    expect(await load([], 'a', true)).toEqual({ contacts: 0, removed: 1 });
    expect(await contacts().count('a')).toBe(0);
    expect((await contacts().findByKey('b', '+41215522000', 5)).map((m) => m.name)).toEqual(['In B']);
  });

  it('a contact written again, in a later batch of the same import, answers only by its new numbers', async () => {
    const session = await contacts().beginImport(SOURCE, { replace: false });
    await session.write([{ id: 'a', name: 'A1', phones: [{ key: '+41215522001', raw: '1' }] }]);
    await session.write([
      {
        id: 'a',
        name: 'A2',
        phones: [
          { key: '+41215522002', raw: '2' },
          { key: '+41215522002', raw: '2 again' },
        ],
      },
    ]);
    expect(await session.commit()).toEqual({ contacts: 2, removed: 0 });
    expect(await contacts().findByKey(SOURCE, '+41215522001', 5)).toEqual([]);
    expect(await contacts().findByKey(SOURCE, '+41215522002', 5)).toEqual([
      { id: 'a', name: 'A2', primary: true },
    ]);
    expect(await contacts().count(SOURCE)).toBe(1);
  });

  it('replacing: a contact written again in a later batch, or removed, answers only as last written', async () => {
    await load([{ id: 'old', name: 'Old', phones: [{ key: '+41215522009', raw: '9' }] }]);
    const session = await contacts().beginImport(SOURCE, { replace: true });
    await session.write([
      { id: 'a', name: 'A1', phones: [{ key: '+41215522001', raw: '1' }] },
      { id: 'b', name: 'B', phones: [{ key: '+41215522003', raw: '3' }] },
      { id: 'c', name: 'C', phones: [{ key: '+41215522004', raw: '4' }] },
    ]);
    await session.write([
      { id: 'a', name: 'A2', phones: [{ key: '+41215522002', raw: '2' }] },
      { id: 'd', name: 'D', phones: [{ key: '+41215522001', raw: '1' }] },
    ]);
    expect(await session.remove(['c', 'old', 'missing'])).toBe(1);
    expect(await session.commit()).toEqual({ contacts: 5, removed: 1 });
    const names = async (key: string) => (await contacts().findByKey(SOURCE, key, 5)).map((m) => m.name);
    expect(await names('+41215522001')).toEqual(['D']);
    expect(await names('+41215522002')).toEqual(['A2']);
    expect(await names('+41215522003')).toEqual(['B']);
    expect(await names('+41215522004')).toEqual([]);
    expect(await names('+41215522009')).toEqual([]);
    expect(await contacts().count(SOURCE)).toBe(3);
    // Found by name and company after the replace, as before it.
    const found = await contacts().search({ text: 'a', limit: 10 });
    expect(found.contacts.map((c) => c.name)).toEqual(['A2']);
    expect((await contacts().search({ key: '+41215522003', limit: 10 })).contacts.map((c) => c.id)).toEqual([
      'b',
    ]);
  });

  it('removes by id and answers how many were there', async () => {
    await load([
      { id: 'a', phones: [{ key: '+41215522001', raw: '1' }] },
      { id: 'b', phones: [{ key: '+41215522002', raw: '2' }] },
    ]);
    const session = await contacts().beginImport(SOURCE, { replace: false });
    expect(await session.remove(['a', 'missing', 'a'])).toBe(1);
    expect(await session.commit()).toEqual({ contacts: 0, removed: 1 });
    expect(await contacts().findByKey(SOURCE, '+41215522001', 5)).toEqual([]);
    expect(await contacts().count(SOURCE)).toBe(1);
  });

  it('keeps each source’s sync state, replaced whole by the next', async () => {
    expect(await contacts().syncState('crm')).toBeUndefined();
    await contacts().saveSyncState('crm', { attemptedAt: 1, succeededAt: 2, cursor: 3, version: 'v1' });
    await contacts().saveSyncState('other', { attemptedAt: 5, error: 'down' });
    await contacts().saveSyncState('crm', { attemptedAt: 10, error: 'refused' });
    expect(await contacts().syncState('crm')).toEqual({ attemptedAt: 10, error: 'refused' });
    expect(await contacts().syncState('other')).toEqual({ attemptedAt: 5, error: 'down' });
    // Kept with the data: another handle on it reads the same.
    expect(await (await current().another()).contacts.syncState('crm')).toEqual({
      attemptedAt: 10,
      error: 'refused',
    });
  });

  it('another handle on the same data (another process or instance) sees an import only once it commits', async () => {
    await load([{ id: 'a', name: 'Old', phones: [{ key: '+41215522001', raw: '1' }] }]);
    const other = await current().another();
    const session = await contacts().beginImport(SOURCE, { replace: true });
    await session.write([{ id: 'b', name: 'New', phones: [{ key: '+41215522002', raw: '2' }] }]);
    expect((await other.contacts.findByKey(SOURCE, '+41215522001', 5)).map((m) => m.name)).toEqual(['Old']);
    expect(await other.contacts.findByKey(SOURCE, '+41215522002', 5)).toEqual([]);
    expect(await other.contacts.count(SOURCE)).toBe(1);
    await session.commit();
    expect(await other.contacts.findByKey(SOURCE, '+41215522001', 5)).toEqual([]);
    expect((await other.contacts.findByKey(SOURCE, '+41215522002', 5)).map((m) => m.name)).toEqual(['New']);
  });

  it('writes and replaces many contacts over many batches', async () => {
    const many = (n: number, name: string): ContactRecord[] =>
      Array.from({ length: n }, (_, i) => ({
        id: `id-${i}`,
        name: `${name} ${i}`,
        phones: [{ key: `+4121${String(i).padStart(7, '0')}`, raw: String(i) }],
      }));
    const write = async (records: ContactRecord[], replace: boolean) => {
      const session = await contacts().beginImport(SOURCE, { replace });
      for (let i = 0; i < records.length; i += 500) await session.write(records.slice(i, i + 500));
      return session.commit();
    };
    expect(await write(many(3000, 'First'), true)).toEqual({ contacts: 3000, removed: 0 });
    expect(await write(many(2000, 'Second'), true)).toEqual({ contacts: 2000, removed: 1000 });
    expect(await contacts().count(SOURCE)).toBe(2000);
    expect((await contacts().findByKey(SOURCE, '+41210001999', 5)).map((m) => m.name)).toEqual([
      'Second 1999',
    ]);
    expect(await contacts().findByKey(SOURCE, '+41210002000', 5)).toEqual([]);
  });
});

describeStores(
  'lookups on the shared store',
  (current) => {
    it('lookups that come together are read in fewer statements than lookups, each with its own answer', async () => {
      const session = await current().store.contacts.beginImport(SOURCE, { replace: true });
      await session.write(
        Array.from({ length: 40 }, (_, i) => contact(`c${i}`, `+4121556${String(i).padStart(4, '0')}`)),
      );
      await session.commit();
      const statements = vi.spyOn(pg.Pool.prototype, 'query');
      try {
        const keys = Array.from({ length: 40 }, (_, i) => `+4121556${String(i).padStart(4, '0')}`);
        const found = await Promise.all(
          keys.map((key) => current().store.contacts.findByKey(SOURCE, key, 5)),
        );
        expect(found.map((matches) => matches.map((match) => match.id))).toEqual(
          keys.map((_, i) => [`c${i}`]),
        );
        // 40 at once, at most half the pool's 10 connections reading: a handful of statements.
        expect(statements.mock.calls.length).toBeGreaterThan(0);
        expect(statements.mock.calls.length).toBeLessThanOrEqual(10);
      } finally {
        statements.mockRestore();
      }
    });
  },
  ['postgres'],
);
