import { describe, expect, it } from 'vitest';
import { lines, useImportContext } from '../support/import.js';

describe('re-import, --replace and transactions', () => {
  const ctx = useImportContext();

  const first = lines(
    'id,name,company,phone,mobile',
    'c1,Hans Muster,Example AG,021 552 20 00,079 123 45 67',
    'c2,Anna Keller,,044 123 45 67,',
  );

  it('re-importing updates contacts by id: new name and number visible, old number gone', async () => {
    await ctx.run(ctx.write('v1.csv', first));
    const { summary } = await ctx.run(
      ctx.write('v2.csv', lines('id,name,company,phone', 'c1,Hans Muster-Meier,Other GmbH,021 552 20 99')),
    );

    expect(summary.contacts).toBe(1);
    expect(await ctx.count()).toBe(2);
    expect(await ctx.find('+41215522099')).toEqual([
      { id: 'c1', name: 'Hans Muster-Meier', company: 'Other GmbH', primary: true },
    ]);
    // both old numbers of c1 no longer match
    expect(await ctx.find('+41215522000')).toEqual([]);
    expect(await ctx.find('+41791234567')).toEqual([]);
    // without --replace, c2 (absent from the new file) stays
    expect((await ctx.find('+41441234567')).map((m) => m.id)).toEqual(['c2']);
  });

  it('re-importing the same file twice does not duplicate anything', async () => {
    const file = ctx.write('same.csv', first);
    await ctx.run(file);
    await ctx.run(file);
    expect(await ctx.count()).toBe(2);
    expect(await ctx.find('+41215522000')).toHaveLength(1);
    expect(await ctx.find('+41791234567')).toHaveLength(1);
  });

  it('customData is replaced, not merged, on re-import', async () => {
    await ctx.run(
      ctx.write('a.csv', lines('id,name,phone,email,note', 'c1,Hans,021 552 20 00,h@example.ch,old')),
    );
    await ctx.run(ctx.write('b.csv', lines('id,name,phone,note', 'c1,Hans,021 552 20 00,new')));
    expect(await ctx.find('+41215522000')).toEqual([
      { id: 'c1', name: 'Hans', customData: { note: 'new' }, primary: true },
    ]);
  });

  it('replace: contacts absent from the new file are gone', async () => {
    await ctx.run(ctx.write('v1.csv', first));
    const { summary } = await ctx.run(ctx.write('v2.csv', lines('id,name,phone', 'c3,Eva,021 552 20 03')), {
      replace: true,
    });

    // The two contacts of the first file are gone.
    expect(summary).toEqual({ read: 1, imported: 1, removed: 2, skipped: 0, contacts: 1 });
    expect(await ctx.count()).toBe(1);
    expect(await ctx.find('+41215522000')).toEqual([]);
    expect(await ctx.find('+41791234567')).toEqual([]);
    expect(await ctx.find('+41441234567')).toEqual([]);
    expect((await ctx.find('+41215522003')).map((m) => m.id)).toEqual(['c3']);
  });

  it('replace only touches the source being imported', async () => {
    await ctx.run(ctx.write('other.csv', lines('id,name,phone', 'o1,Other,021 552 20 00')), {
      source: 'other',
    });
    await ctx.run(ctx.write('v1.csv', first));
    await ctx.run(ctx.write('v2.csv', lines('id,name,phone', 'c3,Eva,021 552 20 03')), { replace: true });

    expect(await ctx.count('other')).toBe(1);
    expect((await ctx.find('+41215522000', 'other')).map((m) => m.id)).toEqual(['o1']);
    expect(await ctx.find('+41215522000')).toEqual([]);
  });

  it('rows without an id get stable ids: the same file twice gives the same ids and no duplicates', async () => {
    const file = ctx.write(
      'noid.csv',
      lines(
        'name,company,phone',
        'Hans Muster,Example AG,021 552 20 00',
        'Anna Keller,,044 123 45 67',
        ',Example AG,021 552 20 10',
        // same name and company, other number: another contact
        'Hans Muster,Example AG,021 552 20 01',
      ),
    );
    const keys = ['+41215522000', '+41441234567', '+41215522010', '+41215522001'];
    const idsOf = async () => Promise.all(keys.map(async (key) => (await ctx.find(key)).map((m) => m.id)));

    await ctx.run(file);
    const first = await idsOf();
    await ctx.run(file);
    const second = await idsOf();

    // one contact per number, four different ids
    expect(first.every((ids) => ids.length === 1)).toBe(true);
    expect(new Set(first.flat()).size).toBe(4);
    expect(second).toEqual(first);
    expect(await ctx.count()).toBe(4);
  });

  it('a CSV without a phone column fails the whole import and changes nothing', async () => {
    await ctx.run(ctx.write('v1.csv', first));
    const good = ctx.write('good.csv', lines('id,name,phone', 'n1,New,021 552 20 50'));
    const bad = ctx.write('nophone.csv', lines('id,name,email', 'c1,Renamed,x@example.ch'));

    await expect(ctx.run([good, bad], { replace: true })).rejects.toThrow(/phone column/);

    // previous contacts untouched, nothing of good.csv visible
    expect(await ctx.count()).toBe(2);
    expect(await ctx.find('+41215522000')).toEqual([
      { id: 'c1', name: 'Hans Muster', company: 'Example AG', primary: true },
    ]);
    expect(await ctx.find('+41215522050')).toEqual([]);

    // the store is usable again afterwards
    const { summary } = await ctx.run(good);
    expect(summary.contacts).toBe(1);
    expect(await ctx.count()).toBe(3);
  });

  it('rolls back rows already written in earlier batches when a later file fails', async () => {
    await ctx.run(ctx.write('v1.csv', first));
    const rows = Array.from({ length: 2500 }, (_, i) => `b${i},Bulk ${i},+41 21 ${String(6000000 + i)}`);
    const bulk = ctx.write('bulk.csv', lines('id,name,phone', ...rows));
    const bad = ctx.write('nophone.csv', lines('id,name,email', 'c1,Renamed,x@example.ch'));

    await expect(ctx.run([bulk, bad], { replace: true })).rejects.toThrow(/phone column/);

    expect(await ctx.count()).toBe(2);
    expect(await ctx.find('+41216000000')).toEqual([]);
    expect((await ctx.find('+41441234567')).map((m) => m.id)).toEqual(['c2']);
  });

  it('a CSV without a phone column fails also without replace and leaves ids unchanged', async () => {
    await ctx.run(ctx.write('v1.csv', first));
    const bad = ctx.write('nophone.csv', lines('id,name,email', 'c1,Renamed,x@example.ch'));
    await expect(ctx.run(bad)).rejects.toThrow(/phone column/);
    expect((await ctx.find('+41215522000'))[0]?.name).toBe('Hans Muster');
  });

  it('an empty CSV file (no header, so no phone column) fails and does not wipe the source', async () => {
    await ctx.run(ctx.write('v1.csv', first));
    const empty = ctx.write('empty.csv', '');

    await expect(ctx.run(empty, { replace: true })).rejects.toThrow();
    expect(await ctx.count()).toBe(2);
  });
});
