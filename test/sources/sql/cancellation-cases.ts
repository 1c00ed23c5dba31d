/**
 * Cases of a live search cut off by its caller, for the sql drivers that talk to a server: the call
 * ends with the caller's reason, the server stops the statement (dropping the connection alone does
 * not: the statement runs on), and the pool keeps its connections. Each driver's test file runs them
 * against its own server with `cancellationCases`.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Source } from '../../../src/sources/types.js';
import { settled } from '../../support/helper.js';
import { never, searchQuery, sqlSource } from '../../support/sql.js';

/** A database server, seen the same way whatever the driver. */
export interface ServerBackend {
  readonly driver: 'postgres' | 'mysql';
  readonly url: string;
  /** The name a table is created and mapped under (qualified with the test's schema if needed). */
  table(name: string): string;
  /** Runs SQL written with `?` placeholders. */
  exec(sql: string, params?: unknown[]): Promise<void>;
  /**
   * A live search of `table` by `:e164` (at most `:limit` rows) that, when the SQL condition `slow`
   * holds, keeps the server busy for a minute or more without looking at its client: only a
   * cancellation on the server ends it early.
   */
  slowSearch(table: string, slow: string): string;
  /** The server's sessions running a statement that names `table`, the test's own queries aside. */
  running(table: string): Promise<number[]>;
  /** Cancels those statements: one the source failed to stop must not outlive its test. */
  cancel(table: string): Promise<void>;
}

const SLOW = '+41449999999';
const FAST = '+41215522000';

export function cancellationCases(make: () => ServerBackend): void {
  let backend: ServerBackend;
  let table: string;
  let source: Source;
  beforeAll(async () => {
    backend = make();
    table = backend.table('slow');
    await backend.exec(
      `CREATE TABLE ${table} (id varchar(8) PRIMARY KEY, name varchar(50), phone varchar(50), phone_key varchar(20))`,
    );
    await backend.exec(`INSERT INTO ${table} VALUES ('s1', 'Sam Slow', '044 999 99 99', '${SLOW}'),
      ('f1', 'Fay Fast', '021 552 20 00', '${FAST}')`);
    // Slow for one number only, so that the same source can show it still answers afterwards.
    source = sqlSource({
      driver: backend.driver,
      url: backend.url,
      // A source needs a listing even when it is only asked live.
      query: `SELECT id, name, phone FROM ${table}`,
      search: { query: backend.slowSearch(table, `:e164 = '${SLOW}'`) },
    });
  });
  // A statement the source failed to stop is stopped here, so that it fails only its own test.
  afterEach(async () => {
    await backend.cancel(table);
  });
  afterAll(async () => {
    await source?.close?.();
  });

  const running = () => backend.running(table);
  /** Waits for the server to run the slow search, so that a cancellation cuts off a running statement. */
  const started = () =>
    expect
      .poll(running, { timeout: 10_000, message: 'the slow search is not running on the server' })
      .toHaveLength(1);
  const stopped = () =>
    expect
      .poll(running, { timeout: 10_000, message: 'the server still runs the cancelled search' })
      .toEqual([]);
  /** The source answers a search, which needs a connection of its pool. */
  const answers = async () => {
    const { value, error } = await settled(
      source.search!(searchQuery(FAST), { signal: never() }),
      'a search after the cancellations',
    );
    expect(error).toBeUndefined();
    expect(value?.map((contact) => contact.id)).toEqual(['f1']);
  };

  /**
   * Cuts off a slow search while the server runs it: the call must end with the reason, and the
   * server must stop the statement.
   */
  const cutOff = async (what: string) => {
    const controller = new AbortController();
    const reason = new Error('lookup deadline');
    const call = source.search!(searchQuery(SLOW), { signal: controller.signal });
    await started();
    controller.abort(reason);
    expect((await settled(call, what)).error).toBe(reason);
    await stopped();
  };

  it('a slow live query ends with the reason when its call is cancelled, and the server stops it', async () => {
    await cutOff('the cancelled search');
    await answers();
  });

  it('cancelled calls give their connections back: the pool answers after more cancellations than it has connections', async () => {
    for (let i = 1; i <= 6; i++) await cutOff(`cancelled search ${i}`);
    await answers();
  });

  it('calls whose signal is already aborted end with its reason, never reach the server, and leave no connection behind', async () => {
    // More of them than the pool has connections: a connection taken for a call that was already
    // cut off must go back to the pool.
    for (let i = 0; i < 6; i++) {
      const controller = new AbortController();
      const reason = new Error('too late');
      controller.abort(reason);
      const call = source.search!(searchQuery(SLOW), { signal: controller.signal });
      expect((await settled(call, `search ${i + 1}, cut off before it began`)).error).toBe(reason);
    }
    // Had one been sent, the server would still be running it.
    expect(await running()).toEqual([]);
    await answers();
  });
}
