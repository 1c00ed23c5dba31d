import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { ContactRecord } from '../../src/store/types.js';
import { lines, SOURCE, useImportContext } from '../support/import.js';

const contact = (id: string, key: string, name = id): ContactRecord => ({
  id,
  name,
  phones: [{ key, raw: key }],
});

describe('an import while lookups read the same store', () => {
  const ctx = useImportContext();
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

    const reopened = openSqliteStore(join(ctx.dir, 'data'));
    try {
      expect(await reopened.contacts.count(SOURCE)).toBe(2);
      expect(await reopened.contacts.findByKey(SOURCE, '+41215522002', 5)).toEqual([]);
    } finally {
      await reopened.close();
    }
  });

  it('duplicate ids within one replace import: the last row wins', async () => {
    await seed();
    const { summary } = await ctx.run(
      ctx.write(
        'dup.csv',
        lines('id,name,phone', 'a,First A,021 552 20 10', 'x,X,021 552 20 11', 'a,Last A,021 552 20 12'),
      ),
      { replace: true },
    );
    expect(summary.contacts).toBe(3);
    expect(await ctx.count()).toBe(2);
    expect(await ids('+41215522010')).toEqual([]);
    expect(await ids('+41215522012')).toEqual(['Last A']);
    expect(await ids('+41215522000')).toEqual([]);
  });
});
