import { describe, expect, it } from 'vitest';
import { lines, useImportContext } from '../support/import.js';

const crlf = (...rows: string[]) => `${rows.join('\r\n')}\r\n`;

describe('bad CSV rows are reported with their line and skipped', () => {
  const ctx = useImportContext();

  it('no usable number, no name and no company: reported by line, the rest imported (an unknown country too)', async () => {
    const file = ctx.write(
      'bad.csv',
      lines(
        'id,name,company,phone,country', // 1
        'ok1,Hans,,021 552 20 00,', // 2
        'bad1,Nobody,,no number,', // 3
        'bad2,Nowhere,,021 552 20 01,XX', // 4
        'bad3,,,021 552 20 02,', // 5
        'ok2,,Example AG,021 552 20 03,CH', // 6
        'bad4,Empty,,,', // 7
      ),
    );
    const { summary, skips, warnings } = await ctx.run(file);

    expect(skips.map((s) => [s.file, s.line])).toEqual([
      [file, 3],
      [file, 5],
      [file, 7],
    ]);
    expect(skips[0]?.reason).toMatch(/number/);
    expect(skips[1]?.reason).toMatch(/name/);
    // An unknown country is reported, and the contact imported in the import region.
    expect(warnings).toEqual(['4: country "XX" is not known: national numbers read in CH']);
    expect(summary).toEqual({ read: 6, imported: 3, removed: 0, skipped: 3, contacts: 3 });
    expect(await ctx.count()).toBe(3);
    expect((await ctx.find('+41215522000')).map((m) => m.id)).toEqual(['ok1']);
    expect((await ctx.find('+41215522003')).map((m) => m.id)).toEqual(['ok2']);
    expect((await ctx.find('+41215522001')).map((m) => m.id)).toEqual(['bad2']);
    expect(await ctx.find('+41215522002')).toEqual([]);
  });

  it('counts blank lines and new lines inside quoted fields (LF)', async () => {
    const file = ctx.write(
      'lf.csv',
      lines(
        'id,name,phone', // 1
        'a,"Hans', // 2
        'Muster",021 552 20 00', // 3
        '', // 4
        'b,Broken,none', // 5
        'c,"Anna', // 6
        '', // 7
        'Keller",021 552 20 01', // 8
        'd,Broken,none', // 9
      ),
    );
    const { skips, summary } = await ctx.run(file);

    expect(skips.map((s) => s.line)).toEqual([5, 9]);
    expect(summary.imported).toBe(2);
    expect((await ctx.find('+41215522001'))[0]?.name).toBe('Anna\n\nKeller');
  });

  it('counts new lines inside quoted fields right in a CRLF file', async () => {
    const file = ctx.write(
      'crlf.csv',
      crlf(
        'id,name,phone', // 1
        'a,"Hans', // 2
        'Muster",021 552 20 00', // 3
        'b,Broken,none', // 4
        'c,Anna,021 552 20 01', // 5
        'd,Broken,none', // 6
      ),
    );
    const { skips, summary } = await ctx.run(file);

    expect(summary.imported).toBe(2);
    expect(skips.map((s) => s.line)).toEqual([4, 6]);
  });

  it('reports a bad row that spans several lines at the line where it starts', async () => {
    const file = ctx.write(
      'multi.csv',
      lines(
        'id,name,phone', // 1
        'a,Hans,021 552 20 00', // 2
        'b,"Two', // 3
        'lines",none', // 4
        'c,Anna,021 552 20 01', // 5
      ),
    );
    const { skips, summary } = await ctx.run(file);

    expect(summary.imported).toBe(2);
    expect(skips.map((s) => s.line)).toEqual([3]);
  });

  it('a stray quote in an unquoted field is kept as text; nothing is lost', async () => {
    const file = ctx.write(
      'stray-quote.csv',
      lines(
        'id,name,phone', // 1
        'a,Hans,021 552 20 00', // 2
        'b,Hans "the" Muster,021 552 20 01', // 3
        'c,Anna,021 552 20 02', // 4
      ),
    );
    const { skips, summary } = await ctx.run(file);

    expect((await ctx.find('+41215522000')).map((m) => m.id)).toEqual(['a']);
    expect((await ctx.find('+41215522002')).map((m) => m.id)).toEqual(['c']);
    expect(await ctx.find('+41215522001')).toEqual([
      expect.objectContaining({ id: 'b', name: 'Hans "the" Muster' }),
    ]);
    expect(skips).toEqual([]);
    expect(summary).toMatchObject({ imported: 3, skipped: 0 });
  });

  it('a stray quote inside a quoted field is kept as text; the following rows are imported', async () => {
    const file = ctx.write(
      'bad-closing-quote.csv',
      lines(
        'id,name,phone', // 1
        'a,Hans,021 552 20 00', // 2
        'b,"Hans "the" Muster",021 552 20 01', // 3
        'c,Anna,021 552 20 02', // 4
        'd,Eva,021 552 20 03', // 5
      ),
    );
    const { skips } = await ctx.run(file);

    expect((await ctx.find('+41215522002')).map((m) => m.id)).toEqual(['c']);
    expect((await ctx.find('+41215522003')).map((m) => m.id)).toEqual(['d']);
    expect(await ctx.count()).toBe(4);
    expect((await ctx.find('+41215522001')).map((m) => m.id)).toEqual(['b']);
    expect(skips).toEqual([]);
  });

  it('an unclosed quote on the last row is reported at that row; the rows before are imported', async () => {
    const file = ctx.write(
      'unclosed.csv',
      lines(
        'id,name,phone', // 1
        'a,Hans,021 552 20 00', // 2
        'b,Anna,021 552 20 01', // 3
        'c,"Unclosed,021 552 20 02', // 4
      ),
    );
    const { skips, summary } = await ctx.run(file);

    expect(skips.map((s) => [s.file, s.line])).toEqual([[file, 4]]);
    expect(skips[0]?.reason).toMatch(/CSV/);
    expect(summary.imported).toBe(2);
    expect(await ctx.count()).toBe(2);
  });

  it('reports each file by its own name and line numbers', async () => {
    const a = ctx.write('a.csv', lines('id,name,phone', 'a1,A,021 552 20 00', 'a2,A,none'));
    const b = ctx.write('b.csv', lines('id;name;phone', 'b1;;021 552 20 01', 'b2;B;021 552 20 02'));
    const { skips } = await ctx.run([a, b]);
    expect(skips.map((s) => [s.file, s.line])).toEqual([
      [a, 3],
      [b, 2],
    ]);
    expect(await ctx.count()).toBe(2);
  });
});
