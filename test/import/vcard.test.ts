import { describe, expect, it } from 'vitest';
import { phoneLabels, useImportContext } from '../support/import.js';

const crlf = (...rows: string[]) => `${rows.join('\r\n')}\r\n`;
const lf = (...rows: string[]) => `${rows.join('\n')}\n`;

describe('vCard import', () => {
  const ctx = useImportContext();

  it('vCard 3: FN, ORG, TEL with TYPE, EMAIL into customData, UID as id', async () => {
    const file = ctx.write(
      'v3.vcf',
      crlf(
        'BEGIN:VCARD',
        'VERSION:3.0',
        'UID:u-1',
        'FN:Hans Muster',
        'N:Muster;Hans;;;',
        'ORG:Example AG;Sales',
        'TEL;TYPE=WORK,VOICE:+41 21 552 20 00',
        'TEL;TYPE=CELL:079 123 45 67',
        'EMAIL;TYPE=INTERNET:hans@example.ch',
        'END:VCARD',
      ),
    );
    const { summary, skips } = await ctx.run(file);

    expect(skips).toEqual([]);
    expect(summary).toEqual({ read: 1, imported: 1, removed: 0, skipped: 0, contacts: 1 });
    expect(await ctx.find('+41215522000')).toEqual([
      {
        id: 'u-1',
        name: 'Hans Muster',
        company: 'Example AG',
        customData: { 'E-mail': 'hans@example.ch' },
        primary: true,
      },
    ]);
    expect(await ctx.find('+41791234567')).toEqual([expect.objectContaining({ id: 'u-1', primary: false })]);

    expect(await phoneLabels(file)).toEqual([['WORK, VOICE', 'CELL']]);
  });

  it('uses N when FN is missing', async () => {
    const file = ctx.write(
      'n.vcf',
      crlf('BEGIN:VCARD', 'VERSION:3.0', 'N:Keller;Anna;Maria;Dr.;', 'TEL:044 123 45 67', 'END:VCARD'),
    );
    await ctx.run(file);
    expect((await ctx.find('+41441234567'))[0]?.name).toBe('Dr. Anna Maria Keller');
  });

  it('vCard 4: tel: URIs with ;ext=, quoted TYPE lists, urn:uuid UID, several e-mails', async () => {
    const file = ctx.write(
      'v4.vcf',
      lf(
        'BEGIN:VCARD',
        'VERSION:4.0',
        'UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1',
        'FN:Eva Beispiel',
        'ORG:Beispiel GmbH',
        'TEL;VALUE=uri;TYPE="work,voice":tel:+41-21-552-20-00;ext=12',
        'TEL;VALUE=uri;TYPE=cell:tel:+41-79-123-45-67',
        'EMAIL;TYPE=work:eva@example.ch',
        'EMAIL;TYPE=home:eva@home.example',
        'END:VCARD',
      ),
    );
    const { skips } = await ctx.run(file);

    expect(skips).toEqual([]);
    expect(await ctx.find('+41215522000')).toEqual([
      {
        id: 'urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1',
        name: 'Eva Beispiel',
        company: 'Beispiel GmbH',
        customData: { 'E-mail': 'eva@example.ch, eva@home.example' },
        primary: true,
      },
    ]);
    // the extension is not part of the number
    expect(await ctx.find('+4121552200012')).toEqual([]);
    expect((await ctx.find('+41791234567'))[0]?.primary).toBe(false);

    expect(await phoneLabels(file)).toEqual([['work, voice', 'cell']]);
  });

  it('unfolds folded lines (space and tab continuations)', async () => {
    const file = ctx.write(
      'folded.vcf',
      crlf(
        'BEGIN:VCARD',
        'VERSION:3.0',
        'UID:fold-1',
        'FN:Maximilian Alexander von Hohenberg-Unterw',
        ' aldstätten',
        'TEL;TYPE=WORK:+41 21 5',
        '\t52 20 09',
        'EMAIL:max@exam',
        ' ple.ch',
        'END:VCARD',
      ),
    );
    const { skips } = await ctx.run(file);

    expect(skips).toEqual([]);
    expect(await ctx.find('+41215522009')).toEqual([
      {
        id: 'fold-1',
        name: 'Maximilian Alexander von Hohenberg-Unterwaldstätten',
        customData: { 'E-mail': 'max@example.ch' },
        primary: true,
      },
    ]);
  });

  it('reads several cards per file, vCard 3 and 4 mixed', async () => {
    const file = ctx.write(
      'many.vcf',
      crlf(
        'BEGIN:VCARD',
        'VERSION:3.0',
        'UID:a',
        'FN:A',
        'TEL:021 552 20 01',
        'END:VCARD',
        'BEGIN:VCARD',
        'VERSION:4.0',
        'UID:b',
        'FN:B',
        'TEL;VALUE=uri:tel:+41-21-552-20-02',
        'END:VCARD',
        '',
        'BEGIN:VCARD',
        'VERSION:3.0',
        'UID:c',
        'ORG:C AG',
        'TEL:021 552 20 03',
        'END:VCARD',
      ),
    );
    const { summary } = await ctx.run(file);

    expect(summary).toEqual({ read: 3, imported: 3, removed: 0, skipped: 0, contacts: 3 });
    expect(await ctx.count()).toBe(3);
    expect((await ctx.find('+41215522001'))[0]?.id).toBe('a');
    expect((await ctx.find('+41215522002'))[0]?.id).toBe('b');
    expect(await ctx.find('+41215522003')).toEqual([{ id: 'c', company: 'C AG', primary: true }]);
  });

  it('reports a card missing END:VCARD at its BEGIN line and imports the others', async () => {
    const file = ctx.write(
      'broken.vcf',
      lf(
        'BEGIN:VCARD', // 1
        'VERSION:4.0', // 2
        'UID:ok-1', // 3
        'FN:First', // 4
        'TEL:+41215522001', // 5
        'END:VCARD', // 6
        'BEGIN:VCARD', // 7
        'VERSION:4.0', // 8
        'UID:broken', // 9
        'FN:Broken', // 10
        'TEL:+41215522002', // 11
        'BEGIN:VCARD', // 12
        'VERSION:4.0', // 13
        'UID:ok-2', // 14
        'FN:After', // 15
        'TEL:+41215522003', // 16
        'END:VCARD', // 17
        'BEGIN:VCARD', // 18
        'VERSION:4.0', // 19
        'FN:No number', // 20
        'END:VCARD', // 21
        'BEGIN:VCARD', // 22
        'VERSION:4.0', // 23
        'UID:last', // 24
        'FN:Last', // 25
        'TEL:+41215522004', // 26
      ),
    );
    const { summary, skips } = await ctx.run(file);

    expect(skips.map((s) => [s.file, s.line])).toEqual([
      [file, 7],
      [file, 18],
      [file, 22],
    ]);
    expect(skips[0]?.reason).toMatch(/END:VCARD/);
    expect(skips[1]?.reason).toMatch(/number/);
    expect(skips[2]?.reason).toMatch(/END:VCARD/);
    expect(summary).toMatchObject({ imported: 2, skipped: 3 });
    expect((await ctx.find('+41215522001'))[0]?.id).toBe('ok-1');
    expect((await ctx.find('+41215522003'))[0]?.id).toBe('ok-2');
    expect(await ctx.find('+41215522002')).toEqual([]);
    expect(await ctx.find('+41215522004')).toEqual([]);
  });

  it('re-importing a vCard updates the contact by UID', async () => {
    const card = (name: string, tel: string) =>
      crlf('BEGIN:VCARD', 'VERSION:3.0', 'UID:same', `FN:${name}`, `TEL:${tel}`, 'END:VCARD');
    await ctx.run(ctx.write('one.vcf', card('Old Name', '021 552 20 00')));
    await ctx.run(ctx.write('two.vcf', card('New Name', '021 552 20 99')));

    expect(await ctx.count()).toBe(1);
    expect(await ctx.find('+41215522000')).toEqual([]);
    expect(await ctx.find('+41215522099')).toEqual([{ id: 'same', name: 'New Name', primary: true }]);
  });

  it('cards without UID get stable ids: importing twice does not duplicate', async () => {
    const file = ctx.write(
      'noid.vcf',
      crlf('BEGIN:VCARD', 'VERSION:3.0', 'FN:No Uid', 'TEL:021 552 20 00', 'END:VCARD'),
    );
    await ctx.run(file);
    const id = (await ctx.find('+41215522000'))[0]?.id;
    await ctx.run(file);

    expect(id).toBeTruthy();
    expect(await ctx.count()).toBe(1);
    expect((await ctx.find('+41215522000')).map((m) => m.id)).toEqual([id]);
  });

  it('imports .vcf and .csv files together', async () => {
    const vcf = ctx.write(
      'a.vcf',
      crlf('BEGIN:VCARD', 'VERSION:3.0', 'UID:v', 'FN:V', 'TEL:021 552 20 01', 'END:VCARD'),
    );
    const csv = ctx.write('b.csv', lf('id,name,phone', 'c,C,021 552 20 02'));
    const { summary } = await ctx.run([vcf, csv]);
    expect(summary.contacts).toBe(2);
    expect((await ctx.find('+41215522001'))[0]?.id).toBe('v');
    expect((await ctx.find('+41215522002'))[0]?.id).toBe('c');
  });
});
