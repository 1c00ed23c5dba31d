import { describe, expect, it } from 'vitest';
import { lines, phoneLabels, useImportContext } from '../support/import.js';

describe('CSV import', () => {
  const ctx = useImportContext();

  it('loads every column: id, name, company, URIs, phones and the rest as customData', async () => {
    const file = ctx.write(
      'contacts.csv',
      lines(
        'id,name,company,contact_uri,company_uri,phone,email,notes',
        'c1,Hans Muster,Example AG,https://crm.example/c/1,https://crm.example/a/7,021 552 20 00,hans@example.ch,VIP',
        'c2,Anna Keller,,,,044 123 45 67,,',
      ),
    );
    const { summary, skips } = await ctx.run(file);

    expect(skips).toEqual([]);
    expect(summary).toEqual({ read: 2, imported: 2, removed: 0, skipped: 0, contacts: 2 });
    expect(await ctx.count()).toBe(2);
    expect(await ctx.find('+41215522000')).toEqual([
      {
        id: 'c1',
        name: 'Hans Muster',
        company: 'Example AG',
        contactUri: 'https://crm.example/c/1',
        companyUri: 'https://crm.example/a/7',
        customData: { email: 'hans@example.ch', notes: 'VIP' },
        primary: true,
      },
    ]);
    // empty columns are left out: no customData at all for c2
    expect(await ctx.find('+41441234567')).toEqual([{ id: 'c2', name: 'Anna Keller', primary: true }]);
    expect(await ctx.find('+41215522999')).toEqual([]);
  });

  it('builds the name from first_name + last_name, also from "First Name" / "Last Name" headers', async () => {
    const snake = ctx.write(
      'snake.csv',
      lines('id,first_name,last_name,phone', 's1,Hans,Muster,021 552 20 01', 's2,,Keller,021 552 20 02'),
    );
    const spaced = ctx.write(
      'spaced.csv',
      lines('ID,First Name,Last Name,Phone', 'p1,Eva,Beispiel,021 552 20 03'),
    );
    const { skips } = await ctx.run([snake, spaced]);

    expect(skips).toEqual([]);
    expect((await ctx.find('+41215522001'))[0]?.name).toBe('Hans Muster');
    expect((await ctx.find('+41215522002'))[0]?.name).toBe('Keller');
    expect((await ctx.find('+41215522003'))[0]).toMatchObject({ id: 'p1', name: 'Eva Beispiel' });
  });

  it('accepts a company without a name', async () => {
    const file = ctx.write('company.csv', lines('id,company,phone', 'k1,Example AG,021 552 20 00'));
    await ctx.run(file);
    expect(await ctx.find('+41215522000')).toEqual([{ id: 'k1', company: 'Example AG', primary: true }]);
  });

  it("reads a row's numbers in the row's country; rows without country in the import region", async () => {
    const file = ctx.write(
      'countries.csv',
      lines(
        'id,name,phone,country',
        'de,Deutsch,089 1234567,DE',
        'at,Österreich,01 5123456,at',
        'ch,Schweiz,021 552 20 00,',
      ),
    );
    const { skips } = await ctx.run(file, { region: 'CH' });

    expect(skips).toEqual([]);
    expect((await ctx.find('+49891234567')).map((m) => m.id)).toEqual(['de']);
    expect((await ctx.find('+4315123456')).map((m) => m.id)).toEqual(['at']);
    expect((await ctx.find('+41215522000')).map((m) => m.id)).toEqual(['ch']);
    // not read as a Swiss number
    expect(await ctx.find('+41891234567')).toEqual([]);
    // the country column is a role, not customData
    expect((await ctx.find('+49891234567'))[0]?.customData).toBeUndefined();
  });

  it('reads country names in English, German, French and Italian, and ISO codes of three letters', async () => {
    const file = ctx.write(
      'names.csv',
      lines(
        'id,name,phone,country',
        'de1,Deutsch,089 / 123 45-67,Deutschland',
        'de2,German,089 / 123 45-68,germany',
        'fr1,Français,01 23 45 67 89,France',
        'fr2,Französisch,01 23 45 67 88,Frankreich',
        'it1,Italiano,02 1234 5678,Italia',
        'at1,Wiener,01 5123456,Österreich',
        'at2,Vienne,01 5123457,AUT',
        'ch1,Suisse,021 552 20 00,Suisse',
        'ch2,Svizzera,091 552 20 00,Svizzera',
      ),
    );
    const { skips, warnings } = await ctx.run(file, { region: 'CH' });
    expect(skips).toEqual([]);
    expect(warnings).toEqual([]);
    const cases = [
      ['+49891234567', 'de1'],
      ['+49891234568', 'de2'],
      ['+33123456789', 'fr1'],
      ['+33123456788', 'fr2'],
      ['+390212345678', 'it1'],
      ['+4315123456', 'at1'],
      ['+4315123457', 'at2'],
      ['+41215522000', 'ch1'],
      ['+41915522000', 'ch2'],
    ];
    for (const [key, id] of cases)
      expect(
        (await ctx.find(key!)).map((m) => m.id),
        key,
      ).toEqual([id]);
  });

  it('an unknown country keeps the contact: its national numbers are read in the import region, with a warning', async () => {
    const file = ctx.write(
      'unknown.csv',
      lines('id,name,phone,country', 'x1,Nowhere,021 552 20 01,Atlantis'),
    );
    const { summary, skips, warnings } = await ctx.run(file, { region: 'CH' });
    expect(skips).toEqual([]);
    expect(warnings).toEqual(['2: country "Atlantis" is not known: national numbers read in CH']);
    expect(summary).toMatchObject({ imported: 1, skipped: 0 });
    expect((await ctx.find('+41215522001')).map((m) => m.id)).toEqual(['x1']);
  });

  it('treats every phone/mobile/tel/fax column as a number; the first one is the main number', async () => {
    const file = ctx.write(
      'phones.csv',
      lines(
        'id,name,Phone (work),Mobile,Tel. privat,Fax,Natel,Handy,Cell phone,E-Mail',
        'm1,Hans,021 552 20 00,079 123 45 67,021 552 20 01,021 552 20 02,078 111 22 33,076 222 33 44,077 333 44 55,h@example.ch',
      ),
    );
    const { skips } = await ctx.run(file);
    expect(skips).toEqual([]);

    const main = await ctx.find('+41215522000');
    expect(main).toHaveLength(1);
    expect(main[0]).toMatchObject({ id: 'm1', primary: true, customData: { 'E-Mail': 'h@example.ch' } });
    for (const key of [
      '+41791234567',
      '+41215522001',
      '+41215522002',
      '+41781112233',
      '+41762223344',
      '+41773334455',
    ]) {
      expect(await ctx.find(key), key).toEqual([expect.objectContaining({ id: 'm1', primary: false })]);
    }
    // phone columns are not copied into customData
    expect(Object.keys(main[0]?.customData ?? {})).toEqual(['E-Mail']);
  });

  it('labels each number with its column header', async () => {
    const file = ctx.write(
      'labels.csv',
      lines('id,name,Phone,Mobile', 'l1,Hans,021 552 20 00,079 123 45 67'),
    );
    expect(await phoneLabels(file)).toEqual([['Phone', 'Mobile']]);
  });

  it('the first number a row has is its main number, even when an earlier phone column is empty', async () => {
    // A contact that has only a mobile is reached first on that mobile.
    const file = ctx.write('later.csv', lines('id,name,Phone,Mobile', 'x1,Hans,,079 123 45 67'));
    await ctx.run(file);
    expect(await ctx.find('+41791234567')).toEqual([expect.objectContaining({ id: 'x1', primary: true })]);
  });

  it('recognises German compound phone headers (Mobiltelefon, Telefonnummer, Autotelefon)', async () => {
    const file = ctx.write(
      'outlook-de.csv',
      lines(
        'id;name;company;Mobiltelefon;Telefonnummer;Autotelefon',
        'g1;Hans Muster;Example AG;079 123 45 67;021 552 20 00;078 111 22 33',
      ),
    );
    const { skips } = await ctx.run(file);
    expect(skips).toEqual([]);
    expect(await ctx.find('+41791234567')).toEqual([expect.objectContaining({ company: 'Example AG' })]);
    expect(await ctx.find('+41215522000')).toHaveLength(1);
    expect(await ctx.find('+41781112233')).toHaveLength(1);
  });

  it('detects ";" from the header and keeps quoted ";", "," and new lines inside fields', async () => {
    const file = ctx.write(
      'semicolon.csv',
      lines(
        'id;name;company;phone;note',
        's1;"Muster; Hans";"Example, AG";021 552 20 00;"line one',
        'line two"',
        's2;"Keller ""Anna""";;044 123 45 67;',
      ),
    );
    const { skips, summary } = await ctx.run(file);

    expect(skips).toEqual([]);
    expect(summary.imported).toBe(2);
    expect(await ctx.find('+41215522000')).toEqual([
      {
        id: 's1',
        name: 'Muster; Hans',
        company: 'Example, AG',
        customData: { note: 'line one\nline two' },
        primary: true,
      },
    ]);
    expect((await ctx.find('+41441234567'))[0]?.name).toBe('Keller "Anna"');
  });

  it('detects tab from the header and keeps "," and ";" as part of values', async () => {
    const file = ctx.write(
      'tabs.tsv',
      lines(
        'id\tname\tphone\tnote',
        't1\tMuster, Hans\t021 552 20 00\ta;b',
        't2\t"Tab\there"\t044 123 45 67\t',
      ),
    );
    const { skips } = await ctx.run(file);

    expect(skips).toEqual([]);
    expect(await ctx.find('+41215522000')).toEqual([
      { id: 't1', name: 'Muster, Hans', customData: { note: 'a;b' }, primary: true },
    ]);
    expect((await ctx.find('+41441234567'))[0]?.name).toBe('Tab\there');
  });

  it('detects "," even when the header has quoted names containing ";"', async () => {
    const file = ctx.write(
      'quoted-header.csv',
      lines('"id","name","phone","Remark; one","Note; two"', 'q1,Hans,021 552 20 00,a;b,c'),
    );
    await ctx.run(file);
    expect(await ctx.find('+41215522000')).toEqual([
      { id: 'q1', name: 'Hans', customData: { 'Remark; one': 'a;b', 'Note; two': 'c' }, primary: true },
    ]);
  });

  it('strips a UTF-8 BOM (the first header is still "id") and reads CRLF files', async () => {
    const file = ctx.write(
      'bom.csv',
      '\uFEFFid;name;phone;E-Mail\r\nb1;Zoë Müller;021 552 20 00;zoe@example.ch\r\nb2;Jürg;044 123 45 67;\r\n',
    );
    const { skips } = await ctx.run(file);

    expect(skips).toEqual([]);
    expect(await ctx.count()).toBe(2);
    expect(await ctx.find('+41215522000')).toEqual([
      { id: 'b1', name: 'Zoë Müller', customData: { 'E-Mail': 'zoe@example.ch' }, primary: true },
    ]);
    expect((await ctx.find('+41441234567'))[0]?.id).toBe('b2');
  });

  it('imports several files into one source', async () => {
    const a = ctx.write('a.csv', lines('id,name,phone', 'a1,A,021 552 20 00'));
    const b = ctx.write('b.csv', lines('id;name;phone', 'b1;B;021 552 20 01'));
    const { summary } = await ctx.run([a, b]);
    expect(summary).toEqual({ read: 2, imported: 2, removed: 0, skipped: 0, contacts: 2 });
    expect(await ctx.count()).toBe(2);
  });
});
