import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { csvLine, csvRow, numberDisplay, parseDateRange, tableRow } from '../../src/cli/calls.js';
import { callMigrations } from '../../src/store/sqlite/migrations.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { CallRecord, NewCallRecord } from '../../src/store/types.js';
import { tempDir } from '../support/helper.js';

let n = 0;
function call(fields: Partial<NewCallRecord> = {}): NewCallRecord {
  return {
    id: `call-${String(++n).padStart(5, '0')}`,
    workflow: 'CallFlow',
    direction: 'incoming',
    status: 'answered',
    originatorNumber: '41215522000',
    destinationNumber: '41445556677',
    startedTime: '2026-11-26T10:00:00Z',
    inputs: {},
    ...fields,
  };
}

describe('journal migration', () => {
  it('dates the calls recorded before the time column existed', async () => {
    const dir = tempDir();
    try {
      const db = new Database(join(dir.path, 'calls.db'));
      callMigrations[0]!(db);
      db.pragma('user_version = 1');
      const insert = db.prepare(
        `INSERT INTO calls (id, workflow, status, started_time, inputs, received_count, created_at, updated_at)
         VALUES (?, 'CallFlow', 'missed', ?, '{}', 1, ?, ?)`,
      );
      insert.run(
        'with-start',
        '2026-11-26 11:30+01:00',
        '2026-11-26T12:00:00.000Z',
        '2026-11-26T12:00:00.000Z',
      );
      insert.run('without', null, '2026-11-26T11:00:00.000Z', '2026-11-26T11:00:00.000Z');
      db.close();
      const store = openSqliteStore(dir.path);
      try {
        const page = await store.calls.list({ limit: 10, from: new Date('2026-11-26T10:45:00Z') });
        expect(page.calls.map((c) => c.id)).toEqual(['without']);
        expect(await store.calls.purge(new Date('2026-11-26T10:45:00Z'))).toBe(1);
      } finally {
        await store.close();
      }
    } finally {
      dir.remove();
    }
  });
});

describe('how calls are shown', () => {
  const record = (fields: Partial<CallRecord>): CallRecord => ({
    ...call(),
    receivedCount: 1,
    createdAt: '2026-11-26T10:03:10.000Z',
    updatedAt: '2026-11-26T10:03:10.000Z',
    ...fields,
  });
  let masked: { display: (raw: string | undefined) => string };
  let shownInFull: typeof masked;
  beforeAll(async () => {
    masked = { display: await numberDisplay('CH', false) };
    shownInFull = { display: await numberDisplay('CH', true) };
  });

  it('masks numbers unless asked to show them; withheld ones have nothing to hide', () => {
    const hide = masked.display;
    expect(hide('41215522000')).toBe('+41 21 *** ** 00');
    expect(hide('+41 21 552 20 00')).toBe('+41 21 *** ** 00');
    expect(hide('021 552 20 00')).toBe('+41 21 *** ** 00');
    expect(hide('2001')).toBe('**01');
    expect(hide('anonymous')).toBe('anonymous');
    expect(hide(undefined)).toBe('');
    expect(shownInFull.display('41215522000')).toBe('41215522000');

    const shown = record({ originatorName: 'Alexa', destinationNumber: '41445556677' });
    const row = tableRow(shown, masked);
    expect(row.join(' ')).not.toMatch(/5522000|5556677/);
    expect(row).toContain('+41 21 *** ** 00 (Alexa)');
    expect(row).toContain('+41 44 *** ** 77');
    expect(csvRow(shown, masked).join(' ')).not.toMatch(/5522000|5556677/);
    expect(csvRow(shown, shownInFull)).toContain('41215522000');
  });

  it('writes RFC 4180 CSV: commas, quotes and line breaks quoted, quotes doubled, CRLF', () => {
    const fields = ['plain', 'Keller, Käthi', 'say "hi"', 'two\nlines', 'cr\rhere', '', ' spaced '];
    const line = csvLine(fields);
    expect(line).toBe('plain,"Keller, Käthi","say ""hi""","two\nlines","cr\rhere",, spaced \r\n');
    expect(parse(line + line, { record_delimiter: '\r\n' })).toEqual([fields, fields]);

    const tricky = record({
      originatorName: 'Dupont, "Jean"\nDirection',
      answeredTime: '2026-11-26 11:00:07+01:00',
    });
    const [parsed] = parse(csvLine(csvRow(tricky, masked)), { record_delimiter: '\r\n' }) as string[][];
    expect(parsed).toContain('Dupont, "Jean"\nDirection');
    // Times as ISO UTC.
    expect(parsed).toContain('2026-11-26T10:00:07.000Z');
    expect(parsed).toContain('2026-11-26T10:00:00.000Z');
  });

  it('reads dates: a day in the local zone, date-times exact when they carry a zone', () => {
    const day = parseDateRange('2026-11-26');
    expect(day.start).toBe(new Date(2026, 10, 26).getTime());
    expect(day.end).toBe(new Date(2026, 10, 27).getTime());
    expect(parseDateRange('2026-11-26T10:00:00Z')).toEqual({
      start: Date.parse('2026-11-26T10:00:00Z'),
      end: Date.parse('2026-11-26T10:00:00Z') + 1,
    });
    expect(parseDateRange('2026-11-26T10:00').start).toBe(new Date(2026, 10, 26, 10).getTime());
    for (const bad of ['2026-02-30', 'yesterday', '26.11.2026', '2026-11-26T25:00', '']) {
      expect(() => parseDateRange(bad), bad).toThrow(/must be a date/);
    }
  });
});
