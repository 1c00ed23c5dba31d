import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Entry } from '../../src/contacts/load.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { tempDir } from '../support/helper.js';

// Worker threads run the compiled module: loaded from the TypeScript sources, numbers are parsed
// on the calling thread and no pool is ever made. So this file builds the sources first, into dist/.
const ROOT = resolve(import.meta.dirname, '../..');
beforeAll(async () => {
  const tsc = resolve(ROOT, 'node_modules/typescript/bin/tsc');
  const child = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  const code = await new Promise<number | null>((done) => child.on('close', done));
  expect(code, 'the build (tsc -p tsconfig.build.json)').toBe(0);
}, 300_000);
const LOAD = pathToFileURL(resolve(import.meta.dirname, '../../dist/contacts/load.js')).href;
type LoadModule = typeof import('../../src/contacts/load.js');

async function* entries(count: number, offset = 0): AsyncGenerator<Entry> {
  for (let i = 0; i < count; i++) {
    const n = offset + i;
    yield {
      line: i + 1,
      raw: {
        id: `c${n}`,
        name: `Person ${n}`,
        phones: [{ value: `021 ${String(n).padStart(7, '0')}` }],
        customData: {},
      },
    };
  }
}

describe('number parsing threads', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  let started = 0;
  const onWorker = () => {
    started++;
  };
  beforeEach(() => {
    dir = tempDir();
    store = openSqliteStore(dir.path);
    started = 0;
    process.on('worker', onWorker);
  });
  afterEach(async () => {
    process.off('worker', onWorker);
    await store.close();
    dir.remove();
  });

  it('a hundred small loads in a row (incremental syncs) start no thread', { timeout: 120_000 }, async () => {
    const { loadContacts } = (await import(LOAD)) as LoadModule;
    for (let i = 0; i < 100; i++) {
      const summary = await loadContacts(store.contacts, entries(5, i * 5), {
        source: 'crm',
        replace: false,
        region: 'CH',
        workers: 2,
      });
      expect(summary.imported).toBe(5);
    }
    expect(await store.contacts.count('crm')).toBe(500);
    expect(started).toBe(0);
  });

  it('a hundred loads in a row share the threads the first large one started', {
    timeout: 180_000,
  }, async () => {
    const { loadContacts } = (await import(LOAD)) as LoadModule;
    const options = { source: 'crm', replace: true, region: 'CH', workers: 2 } as const;
    await loadContacts(store.contacts, entries(1500), options);
    const first = started;
    // The large load is parsed in threads: the test would prove nothing otherwise.
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThanOrEqual(2);
    for (let i = 0; i < 100; i++) {
      // Every tenth load is a full listing large enough for the threads; the rest are small.
      const count = i % 10 === 0 ? 1500 : 20;
      const summary = await loadContacts(store.contacts, entries(count), options);
      expect(summary.imported).toBe(count);
    }
    expect(await store.contacts.count('crm')).toBe(20);
    expect(started).toBe(first);
  });
});
