import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { createOutboxWorker, type OutboxWorker } from '../../src/workflows/outbox/worker.js';
import { tempDir } from '../support/helper.js';
import { httpAction, newDelivery, startTarget, type Target, until, wrongHolds } from '../support/outbox.js';

// Correctness at a small size; the drain rate at 10,000 deliveries is the bench's outbox-drain scenario.
const CALLS = 1_000;
const CONTACTS = 100;
const CONCURRENCY = 32;

let dir: ReturnType<typeof tempDir>;
let store: Store;
let target: Target;
let worker: OutboxWorker | undefined;

beforeEach(() => {
  dir = tempDir('callcard-outbox-drain-');
  store = openSqliteStore(dir.path);
});

afterEach(async () => {
  await worker?.stop();
  await target?.close();
  await store.close();
  dir.remove();
});

it('keeps the calls while the target is down and delivers each once, in order, when it is back', async () => {
  target = await startTarget({ down: true });
  const action = httpAction(target.url, { sockets: CONCURRENCY });
  worker = createOutboxWorker({
    store: store.outbox,
    actionFor: () => action,
    logger: pino({ level: 'silent' }),
    leaseMs: 30_000,
    pollMs: 100,
    concurrency: CONCURRENCY,
    backoff: { baseMs: 100, maxMs: 1000, factor: 2 },
    attemptTimeoutMs: 10_000,
  });
  worker.start();

  // One enqueue per call, as CallFlow makes them, while the worker keeps failing against the target.
  for (let i = 0; i < CALLS; i++) {
    await store.outbox.enqueue(
      [
        newDelivery(`call-${i}`, {
          orderKey: `contact-${i % CONTACTS}`,
          n: Math.floor(i / CONTACTS),
          maxAttempts: 1000,
        }),
      ],
      Date.now(),
    );
    if (i % 500 === 0) worker.kick();
  }
  await until(() => target.requests >= CONTACTS, 20_000, 'every contact tried while down');
  expect(wrongHolds(dir.path)).toEqual([]);
  expect(target.hits).toHaveLength(0);
  expect((await store.outbox.counts()).done).toBe(0);

  target.down = false;
  await until(async () => (await store.outbox.counts()).done === CALLS, 60_000, 'the outbox drained');

  // Each call arrived once, by its idempotency key, and each contact's calls in the order made.
  const counts = target.counts();
  expect(counts.size).toBe(CALLS);
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
  const order = new Map<string, number[]>();
  for (const hit of target.hits) order.set(hit.orderKey, [...(order.get(hit.orderKey) ?? []), hit.n]);
  expect(order.size).toBe(CONTACTS);
  for (const [, numbers] of order) expect(numbers).toEqual(numbers.map((_, i) => i));
  expect(await store.outbox.counts()).toEqual({ pending: 0, running: 0, done: CALLS, dead: 0 });
  await action.close?.();
}, 120_000);
