import type Database from 'better-sqlite3';

/** Rows removed by one statement run; the rest wait for the next turn of the event loop. */
export const PURGE_BATCH = 2000;

/**
 * Runs a `DELETE ... LIMIT` statement (taking its limit as the last parameter) until it removes
 * fewer rows than a batch, letting other work run in between: a first purge of years of rows must
 * not hold the event loop (and the lookups) for seconds. Answers how many rows were removed.
 */
export async function purgeInBatches(
  statement: Database.Statement<[number, number]>,
  olderThan: number,
): Promise<number> {
  let removed = 0;
  for (;;) {
    const { changes } = statement.run(olderThan, PURGE_BATCH);
    removed += changes;
    if (changes < PURGE_BATCH) return removed;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
