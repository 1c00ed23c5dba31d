import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useImportContext } from '../support/import.js';

// Many batches (of 1,000) through the pipeline; import speed at 1,000,000 rows is the bench's import scenario.
const ROWS = 20_000;

/** Writes the CSV row by row, waiting for the stream to drain: the file never sits in memory. */
async function writeLargeCsv(file: string): Promise<void> {
  const out = createWriteStream(file);
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  // Few, cheap columns: the test checks that a large file streams through, not parsing speed.
  await write('id,name,phone\n');
  for (let i = 0; i < ROWS; i++) {
    await write(`r${i},Person ${i},+4121${String(i).padStart(7, '0')}\n`);
  }
  out.end();
  await once(out, 'finish');
}

describe('large CSV import', () => {
  const ctx = useImportContext();

  it(`streams a generated CSV of ${ROWS} rows into the store`, { timeout: 60_000 }, async () => {
    const file = join(ctx.dir, 'large.csv');
    await writeLargeCsv(file);

    const { summary, skips } = await ctx.run(file);

    expect(skips).toEqual([]);
    expect(summary).toEqual({ read: ROWS, imported: ROWS, removed: 0, skipped: 0, contacts: ROWS });
    expect(await ctx.count()).toBe(ROWS);
    expect(await ctx.find('+41210000000')).toEqual([{ id: 'r0', name: 'Person 0', primary: true }]);
    expect(await ctx.find(`+4121${String(ROWS - 1).padStart(7, '0')}`)).toEqual([
      { id: `r${ROWS - 1}`, name: `Person ${ROWS - 1}`, primary: true },
    ]);
  });
});
