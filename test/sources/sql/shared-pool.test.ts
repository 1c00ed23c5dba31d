/**
 * One pool per connection settings: a sql source and a sql action that reach the same database
 * with the same settings share its connections (counted on the real PostgreSQL by an
 * application_name of the test's own); the pool closes when the last of them does.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Source } from '../../../src/sources/types.js';
import {
  describeWithServer,
  never,
  type PgSchema,
  pgSchema,
  pgUnavailable,
  pgUrl,
  sqlSource,
} from '../../support/sql.js';
import { closeActions, sqlAction } from '../../support/workflows.js';

const unavailable = await pgUnavailable();

describeWithServer('sql: one pool per connection settings (PostgreSQL)', unavailable, () => {
  let schema: PgSchema;
  beforeAll(async () => {
    schema = await pgSchema('pool');
    await schema.exec(`CREATE TABLE "${schema.name}".people (id text, name text, phone text)`);
    await schema.exec(`CREATE TABLE "${schema.name}".calls (id text PRIMARY KEY)`);
    await schema.exec(`INSERT INTO "${schema.name}".people VALUES ('1', 'Alexa Holiday', '+41215522000')`);
  });
  afterAll(async () => {
    await closeActions();
    await schema?.drop();
  });

  const backends = async (name: string) =>
    Number(
      (
        await schema.rows<{ n: string }>(
          'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = ?',
          [name],
        )
      )[0]!.n,
    );

  async function listAll(source: Source): Promise<number> {
    let count = 0;
    for await (const batch of source.list!({ signal: never() })) count += batch.length;
    return count;
  }

  it('a source and an action with the same settings use one connection; the last to close ends it', async () => {
    const app = `${schema.name}_app`;
    const url = `${pgUrl()}?application_name=${app}`;
    const source = sqlSource({
      driver: 'postgres',
      url,
      query: `SELECT id, name, phone FROM "${schema.name}".people`,
    });
    const action = sqlAction({
      driver: 'postgres',
      url,
      query: `INSERT INTO "${schema.name}".calls (id) VALUES (:deliveryId) ON CONFLICT DO NOTHING`,
    });
    expect(await listAll(source)).toBe(1);
    await action.run({ call: { callId: 'c1' } }, { signal: never(), deliveryId: 'd-1', attempt: 1 });
    expect(await schema.rows(`SELECT id FROM "${schema.name}".calls`)).toEqual([{ id: 'd-1' }]);
    // Done one after the other: the action took the connection the listing gave back.
    expect(await backends(app)).toBe(1);

    await action.close?.();
    await action.close?.();
    expect(await listAll(source)).toBe(1);
    await source.close?.();
    await source.close?.();
    await expect.poll(() => backends(app), { timeout: 10_000 }).toBe(0);
  });
});
