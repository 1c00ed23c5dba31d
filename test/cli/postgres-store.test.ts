/**
 * The commands on a PostgreSQL store (CALLCARD_STORE_URL): what one writes, the others read, with
 * nothing in the data directory. Needs the machine's PostgreSQL: skipped with a message without it,
 * a failure under CI.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import { adminQuery } from '../store/support.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/helper.js';
import { describeWithServer, pgUnavailable, pgUrl, uniqueName } from '../support/sql.js';

const unavailable = await pgUnavailable();

describeWithServer('the commands on a PostgreSQL store', unavailable, () => {
  let dir: ReturnType<typeof tempDir>;
  let schema: string;
  const env = () => ({
    CALLCARD_DATA_DIR: join(dir.path, 'data'),
    CALLCARD_STORE_URL: pgUrl(),
    CALLCARD_TOKEN: 't'.repeat(16),
    TZ: 'UTC',
  });
  const callcard = (args: string[]) =>
    runCli([...args, '--config', join(dir.path, 'callcard.yaml')], { env: env(), cwd: dir.path });

  beforeEach(() => {
    dir = tempDir();
    schema = uniqueName('cc_cli');
    writeFileSync(join(dir.path, 'callcard.yaml'), `store:\n  schema: ${schema}\n`);
  });
  afterEach(async () => {
    dir.remove();
    await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });

  it('import, calls and outbox read and write the schema, not the data directory', async () => {
    const csv = join(dir.path, 'contacts.csv');
    writeFileSync(csv, 'id,name,phone\nc1,Alexa Holiday,021 552 20 00\n');
    const imported = await callcard(['import', csv]);
    expect(imported.code, imported.stderr).toBe(0);
    const store = await openPostgresStore({ url: pgUrl(), schema });
    try {
      expect((await store.contacts.findByKey('contacts', '+41215522000', 5)).map((m) => m.name)).toEqual([
        'Alexa Holiday',
      ]);
      await store.calls.record({
        id: 'call-1',
        workflow: 'CallFlow',
        status: 'answered',
        originatorNumber: '41215522000',
        startedTime: '2026-11-26T10:00:00Z',
        inputs: {},
      });
    } finally {
      await store.close();
    }
    const calls = await callcard(['calls', '--csv']);
    expect(calls.code, calls.stderr).toBe(0);
    expect(calls.stdout).toContain('call-1');
    const outbox = await callcard(['outbox']);
    expect(outbox.code, outbox.stderr).toBe(0);
    expect(existsSync(join(dir.path, 'data', 'contacts.db'))).toBe(false);
  });
});
