import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Submission } from '../../src/store/outbox-types.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { NewCallRecord, Store } from '../../src/store/types.js';
import { tempDir } from '../support/helper.js';

// The embedded store commits the calls database's writes of one turn of the event loop together:
// several calls posted at once are one transaction, each answered only once it is committed.

const call = (n: number): NewCallRecord => ({
  id: `call-${n}`,
  workflow: 'CallFlow',
  direction: 'incoming',
  status: 'missed',
  originatorNumber: `4121552200${n}`,
  startedTime: '2026-11-26T10:00:00Z',
  inputs: { originatorNumber: `4121552200${n}` },
});

const deliveryOf = (n: number): Submission => ({
  id: `CallFlow:call-${n}:0`,
  workflow: 'CallFlow',
  callId: `call-${n}`,
  action: 0,
  actionType: 'webhook',
  orderKey: `CallFlow:4121552200${n}`,
  payload: { n },
  maxAttempts: 3,
  updates: false,
  version: 1,
});

describe('group commit of the embedded calls database', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  let reader: Database.Database;
  const committedCalls = () => (reader.prepare('SELECT COUNT(*) AS n FROM calls').get() as { n: number }).n;
  const committedDeliveries = () =>
    (reader.prepare('SELECT COUNT(*) AS n FROM deliveries').get() as { n: number }).n;

  beforeEach(() => {
    dir = tempDir();
    store = openSqliteStore(dir.path);
    // Another connection sees only what is committed.
    reader = new Database(join(dir.path, 'calls.db'), { readonly: true });
  });
  afterEach(async () => {
    reader.close();
    await store.close();
    dir.remove();
  });

  const post = (n: number) => store.intake.recordWithDeliveries(call(n), () => [deliveryOf(n)], 1000);

  it('commits the calls posted in one turn together, and answers each only once committed', async () => {
    const posted = [post(1), post(2), post(3)];
    // Nothing is written while the turn goes on ...
    expect(committedCalls()).toBe(0);
    const seen: number[] = [];
    for (const p of posted) void p.then(() => seen.push(committedCalls()));
    await Promise.all(posted);
    // ... and by the time the first is answered, all three are stored with their deliveries.
    expect(seen).toEqual([3, 3, 3]);
    expect(committedDeliveries()).toBe(3);
  });

  it('writes the WAL once for the group: fewer pages than a commit per call', async () => {
    await Promise.all([post(1), post(2), post(3), post(4)]);
    const grouped = walBytes(dir.path);
    const other = tempDir();
    const alone = openSqliteStore(other.path);
    try {
      for (let n = 1; n <= 4; n++)
        await alone.intake.recordWithDeliveries(call(n), () => [deliveryOf(n)], 1000);
      // The same migrations wrote the same frames first in both.
      expect(grouped).toBeLessThan(walBytes(other.path));
    } finally {
      await alone.close();
      other.remove();
    }
  });

  it('rolls back a failing write alone: the others of its group are stored', async () => {
    const failing = store.intake.recordWithDeliveries(
      call(2),
      () => {
        throw new Error('no payload');
      },
      1000,
    );
    const results = await Promise.allSettled([post(1), failing, post(3)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(await store.calls.get('call-2')).toBeUndefined();
    expect((await store.calls.get('call-1'))?.receivedCount).toBe(1);
    expect((await store.outbox.forCall('CallFlow', 'call-3')).map((d) => d.payload)).toEqual([{ n: 3 }]);
  });

  it('shares the commit between the journal, the answer and the outbox worker', async () => {
    await post(1);
    const [claimed] = await store.outbox.claim('w', 2000, 30_000, 10);
    expect(claimed?.id).toBe('CallFlow:call-1:0');
    const writes = [
      store.outbox.complete(claimed!.id, 'w', { id: 'R-1' }, 3000),
      store.calls.answer('call-1', 'R-1'),
      post(2),
    ];
    expect((await store.outbox.get(claimed!.id))?.status).toBe('running');
    expect(await Promise.all(writes)).toMatchObject([true, 'R-1', { created: true }]);
    expect((await store.outbox.get(claimed!.id))?.status).toBe('done');
  });

  it('stores what is queued when the store closes', async () => {
    const posted = post(1);
    await store.close();
    await expect(posted).resolves.toMatchObject({ created: true });
    expect(committedCalls()).toBe(1);
  });
});

/** The WAL's size: its frames, one per page written by a commit (far below the auto-checkpoint here). */
const walBytes = (dataDir: string) => statSync(join(dataDir, 'calls.db-wal')).size;
