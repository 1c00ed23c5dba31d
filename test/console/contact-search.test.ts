import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { ContactRecord } from '../../src/store/types.js';
import { tempDir } from '../support/helper.js';

const contact = (
  id: string,
  name: string | undefined,
  company?: string,
  key = `+4121552${id.padStart(4, '0')}`,
): ContactRecord => ({
  id,
  ...(name !== undefined && { name }),
  ...(company !== undefined && { company }),
  phones: [{ key, raw: key, label: 'phone' }],
});

describe('searching the contact index', () => {
  let dir: ReturnType<typeof tempDir> | undefined;
  afterEach(() => dir?.remove());

  it('finds contacts by the start of their name or company, in pages, each once', async () => {
    dir = tempDir();
    const store = openSqliteStore(dir.path);
    try {
      const session = await store.contacts.beginImport('contacts', { replace: false });
      await session.write([
        contact('1', 'Alexa Holiday', 'White Cross Co'),
        contact('2', 'alan Turing', 'Bletchley'),
        contact('3', 'Bruno Keller', 'Alpine AG'),
        contact('4', undefined, 'Alps Travel'),
        contact('5', 'Albert Alpha', 'Alpha Corp'),
        contact('6', 'Zoe', 'Zeta'),
      ]);
      await session.commit();
      const names = async (text: string, limit: number, after?: string) => {
        const page = await store.contacts.search({ text, limit, ...(after && { after }) });
        return { ids: page.contacts.map((found) => found.id), next: page.next };
      };
      // By name (any case of A-Z) or else by company; sorted by what matched.
      expect((await names('AL', 10)).ids).toEqual(['2', '5', '1', '3', '4']);
      expect((await names('alp', 10)).ids).toEqual(['5', '3', '4']);
      expect((await names('alpha', 10)).ids).toEqual(['5']);
      expect((await names('nobody', 10)).ids).toEqual([]);
      // Page by page, each contact once.
      const first = await names('al', 2);
      expect(first.ids).toEqual(['2', '5']);
      const second = await names('al', 2, first.next);
      expect(second.ids).toEqual(['1', '3']);
      const third = await names('al', 2, second.next);
      expect(third).toEqual({ ids: ['4'], next: undefined });
      // A contact comes with its source and its numbers as stored and as keys.
      const [found] = (await store.contacts.search({ text: 'zoe', limit: 1 })).contacts;
      expect(found).toMatchObject({
        id: '6',
        source: 'contacts',
        phones: [{ key: '+41215520006', label: 'phone' }],
      });
      // By a number's key.
      const byKey = await store.contacts.search({ key: '+41215520003', limit: 10 });
      expect(byKey.contacts.map((hit) => hit.name)).toEqual(['Bruno Keller']);
      await expect(store.contacts.search({ text: 'al', limit: 2, after: 'not-a-cursor' })).rejects.toThrow();
    } finally {
      await store.close();
    }
  });

  it('reads through the name and company indexes, never the whole table', async () => {
    dir = tempDir();
    const store = openSqliteStore(dir.path);
    await store.close();
    const db = new Database(join(dir.path, 'contacts.db'), { readonly: true });
    try {
      const plan = (sql: string, ...params: unknown[]) =>
        db
          .prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .all(...params)
          .map((row) => (row as { detail: string }).detail)
          .join('\n');
      const name = plan(
        `SELECT c.seq FROM contacts c JOIN sources s ON s.id = c.source WHERE c.name IS NOT NULL AND lower(c.name) >= ? AND lower(c.name) < ? AND (lower(c.name), c.seq) > (?, ?) ORDER BY lower(c.name), c.seq LIMIT ?`,
        'al',
        'am',
        '',
        0,
        51,
      );
      expect(name).toContain('USING INDEX contacts_by_name');
      expect(name).not.toMatch(/SCAN c\b(?! USING)/);
      expect(name).not.toContain('TEMP B-TREE');
      const company = plan(
        `SELECT c.seq FROM contacts c WHERE c.company IS NOT NULL AND lower(c.company) >= ? AND lower(c.company) < ? AND (lower(c.company), c.seq) > (?, ?) ORDER BY lower(c.company), c.seq LIMIT ?`,
        'al',
        'am',
        '',
        0,
        51,
      );
      expect(company).toContain('USING INDEX contacts_by_company');
      expect(company).not.toContain('TEMP B-TREE');
    } finally {
      db.close();
    }
  });
});
