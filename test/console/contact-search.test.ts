import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/helper.js';

/** The embedded store's contact search reads indexes only (the search itself: test/store/console.test.ts). */
describe('searching the contact index', () => {
  let dir: ReturnType<typeof tempDir> | undefined;
  afterEach(() => dir?.remove());

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
