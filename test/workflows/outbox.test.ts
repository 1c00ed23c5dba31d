import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { DeliveryResult } from '../../src/store/outbox-types.js';
import type { Store } from '../../src/store/types.js';
import { type Action, type ActionContext, DeliveryError } from '../../src/workflows/actions/types.js';
import { createOutboxWorker, type OutboxWorkerOptions } from '../../src/workflows/outbox/worker.js';
import { describeStores, type StoreUnderTest } from '../store/support.js';
import { newDelivery, PHONE, until } from '../support/outbox.js';

const silent = pino({ level: 'silent' });
const T0 = 1_700_000_000_000;
const LEASE = 10_000;

let store: Store;
let current: () => StoreUnderTest;

/** Binds the tests of a store kind to its store; whatever a test did, the held marks agree with the order rule. */
function useOutboxStore(under: () => StoreUnderTest): void {
  beforeEach(() => {
    current = under;
    store = under().store;
  });
  afterEach(async () => {
    expect(await under().wrongHolds()).toEqual([]);
  });
}

/** Another handle on the same data, as another process or instance would have. */
const secondStore = (): Promise<Store> => current().another();

describeStores('outbox store', (under) => {
  useOutboxStore(under);

  it('keeps one delivery per id, whoever enqueues it first', async () => {
    const [first] = await store.outbox.enqueue([newDelivery('a', { n: 1 })], T0);
    const [again] = await store.outbox.enqueue([newDelivery('a', { n: 2 })], T0 + 5);
    expect(first).toMatchObject({ id: 'a', status: 'pending', attempts: 0, nextAt: T0, createdAt: T0 });
    expect(again).toEqual(first);
    expect(again?.payload).toEqual({ n: 1, orderKey: 'contact-1', number: PHONE });
    expect(await store.outbox.counts()).toEqual({ pending: 1, running: 0, done: 0, dead: 0 });
  });

  it('submit: a call posted again brings its delivery up to date, or adds an update behind the one made', async () => {
    const post = (n: number, version: number, fields: { updates?: boolean; at?: number } = {}) =>
      store.outbox.submit(
        [{ ...newDelivery('a', { n }), updates: fields.updates ?? true, version }],
        fields.at ?? T0,
      );
    const chain = async () =>
      (await store.outbox.forCall('CallFlow', 'a')).map((d) => [
        d.id,
        d.status,
        d.payload['n'],
        d.updateOf ?? null,
      ]);
    await post(1, 1);
    // The same payload: nothing. A new one while not made yet: it takes it.
    await post(1, 2);
    await post(2, 3);
    expect(await chain()).toEqual([['a', 'pending', 2, null]]);
    // A post that raced and lost: its older view of the call does not replace the newer one.
    await post(1, 2);
    expect(await chain()).toEqual([['a', 'pending', 2, null]]);

    // Being made: the change follows as an update, held behind it.
    await store.outbox.claim('w', T0, LEASE, 10);
    await post(3, 4);
    expect(await chain()).toEqual([
      ['a', 'running', 2, null],
      ['a:update:1', 'pending', 3, 'a'],
    ]);
    expect(await store.outbox.claim('w', T0, LEASE, 10)).toEqual([]);
    // The update not made yet takes the next change; once made, the next one is a second update.
    await post(4, 5);
    await store.outbox.complete('a', 'w', { id: 'crm-a' }, T0 + 1);
    expect((await store.outbox.claim('w', T0 + 1, LEASE, 10)).map((d) => d.id)).toEqual(['a:update:1']);
    await store.outbox.complete('a:update:1', 'w', { id: 'crm-a' }, T0 + 2);
    await post(4, 6);
    await post(5, 7);
    expect(await chain()).toEqual([
      ['a', 'done', 2, null],
      ['a:update:1', 'done', 4, 'a'],
      ['a:update:2', 'pending', 5, 'a'],
    ]);
    // An action that makes no updates gets none.
    const other = { orderKey: 'other', updates: false };
    await store.outbox.submit(
      [{ ...newDelivery('b', { n: 1, orderKey: 'other' }), ...other, version: 1 }],
      T0,
    );
    await store.outbox.claim('w', T0 + 3, LEASE, 10);
    await store.outbox.submit(
      [{ ...newDelivery('b', { n: 2, orderKey: 'other' }), ...other, version: 2 }],
      T0,
    );
    expect((await store.outbox.forCall('CallFlow', 'b')).map((d) => [d.id, d.status])).toEqual([
      ['b', 'running'],
    ]);
  });

  it('keeps one delivery when two connections enqueue the same ids at once', async () => {
    const other = await secondStore();
    const batch = Array.from({ length: 50 }, (_, i) => newDelivery(`d${i}`, { n: i }));
    const answers = await Promise.all([
      store.outbox.enqueue(batch, T0),
      other.outbox.enqueue([...batch].reverse(), T0 + 1),
      store.outbox.enqueue(batch.slice(10, 20), T0 + 2),
    ]);
    expect(await store.outbox.counts()).toMatchObject({ pending: 50 });
    // Every caller is answered the same stored rows.
    const stored = new Map((await store.outbox.list({ limit: 100 })).map((d) => [d.id, d]));
    for (const answer of answers) for (const d of answer) expect(d).toEqual(stored.get(d.id));
  });

  it('leases a due delivery to one worker until the lease runs out', async () => {
    await store.outbox.enqueue([newDelivery('a')], T0);
    expect(await store.outbox.claim('w1', T0 - 1, LEASE, 10)).toEqual([]);
    const [leased] = await store.outbox.claim('w1', T0, LEASE, 10);
    expect(leased).toMatchObject({
      id: 'a',
      status: 'running',
      attempts: 1,
      lockedBy: 'w1',
      lockedUntil: T0 + LEASE,
    });
    // Another process sees it leased.
    const other = await secondStore();
    expect(await other.outbox.claim('w2', T0 + LEASE - 1, LEASE, 10)).toEqual([]);
    // The lease ran out (w1 died): w2 takes it, and w1 can no longer write it back.
    const [taken] = await other.outbox.claim('w2', T0 + LEASE, LEASE, 10);
    expect(taken).toMatchObject({ id: 'a', attempts: 2, lockedBy: 'w2' });
    expect(await store.outbox.complete('a', 'w1', { id: 'x' }, T0 + LEASE + 1)).toBe(false);
    expect(await store.outbox.fail('a', 'w1', 'late', T0, T0 + LEASE + 1)).toBe(false);
    expect(
      await other.outbox.complete('a', 'w2', { id: 'crm-1', url: 'https://crm/1' }, T0 + LEASE + 2),
    ).toBe(true);
    expect(await store.outbox.get('a')).toMatchObject({
      status: 'done',
      resultId: 'crm-1',
      resultUrl: 'https://crm/1',
      updatedAt: T0 + LEASE + 2,
    });
    const done = await store.outbox.get('a');
    expect(done?.lockedBy).toBeUndefined();
    expect(await store.outbox.complete('a', 'w2', {}, T0 + LEASE + 3)).toBe(false);
  });

  it('holds a delivery back while an earlier one of its order key is unfinished', async () => {
    await store.outbox.enqueue(
      [
        newDelivery('a1', { orderKey: 'A' }),
        newDelivery('a2', { orderKey: 'A' }),
        newDelivery('b1', { orderKey: 'B' }),
        newDelivery('a3', { orderKey: 'A' }),
        newDelivery('b2', { orderKey: 'B' }),
      ],
      T0,
    );
    const ids = async (worker: string, now: number) =>
      (await store.outbox.claim(worker, now, LEASE, 10)).map((d) => d.id);
    // Different keys run side by side; within a key, only the first.
    expect(await ids('w', T0)).toEqual(['a1', 'b1']);
    expect(await ids('w', T0 + 1)).toEqual([]);
    expect(await store.outbox.complete('b1', 'w', {}, T0 + 2)).toBe(true);
    expect(await ids('w', T0 + 2)).toEqual(['b2']);
    // A failed first one still holds back the next, also once its retry time has not come.
    expect(await store.outbox.fail('a1', 'w', 'down', T0 + 1000, T0 + 3)).toBe(true);
    expect(await ids('w', T0 + 500)).toEqual([]);
    expect(await ids('w', T0 + 1000)).toEqual(['a1']);
    // Dead, it no longer does: the next of its key goes.
    expect(await store.outbox.fail('a1', 'w', 'gone', undefined, T0 + 1001)).toBe(true);
    expect(await ids('w', T0 + 1001)).toEqual(['a2']);
    expect(await store.outbox.complete('a2', 'w', {}, T0 + 1002)).toBe(true);
    // A dead one brought back goes before those enqueued after it.
    await store.outbox.enqueue([newDelivery('a4', { orderKey: 'A' })], T0 + 1003);
    expect(await store.outbox.retry('a1', T0 + 1003)).toBe(true);
    expect(await ids('w', T0 + 1003)).toEqual(['a1']);
  });

  it('brings a dead one back before a later one of its key that is running', async () => {
    await store.outbox.enqueue(
      [
        newDelivery('x1', { orderKey: 'X' }),
        newDelivery('x2', { orderKey: 'X' }),
        newDelivery('x3', { orderKey: 'X' }),
      ],
      T0,
    );
    await store.outbox.claim('w', T0, LEASE, 10);
    await store.outbox.fail('x1', 'w', 'gone', undefined, T0 + 1);
    expect((await store.outbox.claim('w', T0 + 1, LEASE, 10)).map((d) => d.id)).toEqual(['x2']);
    expect(await store.outbox.retry('x1', T0 + 2)).toBe(true);
    expect(await current().wrongHolds()).toEqual([]);
    // x1 goes at once; x2 runs on; x3 waits for both, and x2's lease running out does not let it go again.
    expect((await store.outbox.claim('w', T0 + 2, LEASE, 10)).map((d) => d.id)).toEqual(['x1']);
    expect(await store.outbox.claim('w2', T0 + LEASE + 1, LEASE, 10)).toEqual([]);
    expect(await store.outbox.complete('x2', 'w', {}, T0 + 3)).toBe(true);
    expect(await store.outbox.claim('w', T0 + 3, LEASE, 10)).toEqual([]);
    expect(await store.outbox.complete('x1', 'w', {}, T0 + 4)).toBe(true);
    expect((await store.outbox.claim('w', T0 + 4, LEASE, 10)).map((d) => d.id)).toEqual(['x3']);
  });

  it('answers at most the limit, oldest due first', async () => {
    await store.outbox.enqueue(
      Array.from({ length: 5 }, (_, i) => newDelivery(`k${i}`, { orderKey: `key-${i}` })),
      T0,
    );
    expect((await store.outbox.claim('w', T0, LEASE, 2)).map((d) => d.id)).toEqual(['k0', 'k1']);
    expect((await store.outbox.claim('w', T0, LEASE, 0)).map((d) => d.id)).toEqual([]);
    expect((await store.outbox.claim('w', T0, LEASE, 9)).map((d) => d.id)).toEqual(['k2', 'k3', 'k4']);
  });

  it('makes a running delivery whose lease ran out on its last attempt dead', async () => {
    await store.outbox.enqueue([newDelivery('a', { maxAttempts: 1 }), newDelivery('b')], T0);
    await store.outbox.claim('w1', T0, LEASE, 1);
    expect(await store.outbox.claim('w2', T0 + LEASE, LEASE, 10)).toEqual([]);
    expect(await store.outbox.get('a')).toMatchObject({ status: 'dead', attempts: 1 });
    expect(await store.outbox.get('a').then((d) => d?.lastError)).toMatch(/lease ran out/);
    expect((await store.outbox.claim('w2', T0 + LEASE, LEASE, 10)).map((d) => d.id)).toEqual(['b']);
  });

  it('retries, drops, lists and counts', async () => {
    await store.outbox.enqueue(
      [
        newDelivery('a', { callId: 'call-1', action: 0 }),
        newDelivery('b', { callId: 'call-1', action: 1, orderKey: 'other' }),
        newDelivery('c', { workflow: 'Other', orderKey: 'third' }),
      ],
      T0,
    );
    await store.outbox.claim('w', T0, LEASE, 10);
    await store.outbox.fail('a', 'w', 'DeliveryError: target answered 400', undefined, T0 + 1);
    await store.outbox.complete('b', 'w', { id: 'crm-b' }, T0 + 1);
    expect(await store.outbox.counts()).toEqual({ pending: 0, running: 1, done: 1, dead: 1 });
    expect((await store.outbox.forCall('CallFlow', 'call-1')).map((d) => [d.id, d.status])).toEqual([
      ['a', 'dead'],
      ['b', 'done'],
    ]);
    expect((await store.outbox.list({ status: 'dead' })).map((d) => d.id)).toEqual(['a']);
    expect((await store.outbox.list({ status: ['done', 'running'] })).map((d) => d.id)).toEqual(['b', 'c']);
    expect((await store.outbox.list({ workflow: 'Other' })).map((d) => d.id)).toEqual(['c']);
    expect((await store.outbox.list({ limit: 1 })).map((d) => d.id)).toEqual(['a']);
    expect(await store.outbox.list({ status: [] })).toEqual([]);

    // retry: dead (or pending) only, attempts reset, due at once.
    expect(await store.outbox.retry('b', T0 + 2)).toBe(false);
    expect(await store.outbox.retry('c', T0 + 2)).toBe(false);
    expect(await store.outbox.retry('missing', T0 + 2)).toBe(false);
    expect(await store.outbox.retry('a', T0 + 2)).toBe(true);
    expect(await store.outbox.get('a')).toMatchObject({ status: 'pending', attempts: 0, nextAt: T0 + 2 });
    expect((await store.outbox.claim('w', T0 + 2, LEASE, 10)).map((d) => d.id)).toEqual(['a']);

    // drop: anything not running.
    expect(await store.outbox.drop('a')).toBe(false);
    expect(await store.outbox.drop('b')).toBe(true);
    expect(await store.outbox.get('b')).toBeUndefined();
    expect(await store.outbox.drop('b')).toBe(false);
    await store.outbox.fail('a', 'w', 'gone', undefined, T0 + 3);
    expect(await store.outbox.drop('a')).toBe(true);
    expect(await store.outbox.counts()).toEqual({ pending: 0, running: 1, done: 0, dead: 0 });
  });

  it('workers on two handles claiming at once deliver each delivery once, each key in order', async () => {
    const other = await secondStore();
    const keys = 12;
    const items = Array.from({ length: 120 }, (_, i) =>
      newDelivery(`d${i}`, { orderKey: `k${i % keys}`, n: i }),
    );
    // Enqueued from both handles at once, in batches, as calls arrive at two instances.
    await Promise.all(
      [0, 1, 2, 3].map((part) =>
        (part % 2 === 0 ? store : other).outbox.enqueue(
          items.filter((_, i) => Math.floor(i / 30) === part),
          T0,
        ),
      ),
    );
    const made: string[] = [];
    const work = async (handle: Store, worker: string) => {
      for (let idle = 0; idle < 3; ) {
        const leased = await handle.outbox.claim(worker, T0, LEASE, 3);
        if (leased.length === 0) {
          idle++;
          await new Promise((resolve) => setTimeout(resolve, 5));
          continue;
        }
        idle = 0;
        for (const delivery of leased) {
          made.push(delivery.id);
          expect(await handle.outbox.complete(delivery.id, worker, {}, T0)).toBe(true);
        }
      }
    };
    await Promise.all([work(store, 'w1'), work(other, 'w2'), work(store, 'w3'), work(other, 'w4')]);
    expect(await store.outbox.counts()).toEqual({ pending: 0, running: 0, done: 120, dead: 0 });
    expect([...made].sort()).toEqual(items.map((item) => item.id).sort());
    // Within a key, made in the order enqueued (the ids' numbers grow with it, in each part).
    const enqueued = (await store.outbox.list({ limit: 200 })).map((d) => d.id);
    for (let k = 0; k < keys; k++) {
      const ofKey = (ids: string[]) => ids.filter((id) => Number(id.slice(1)) % keys === k);
      expect(ofKey(made)).toEqual(ofKey(enqueued));
    }
  });

  it('survives closing and reopening the files', async () => {
    await store.outbox.enqueue([newDelivery('a')], T0);
    await store.outbox.claim('w', T0, LEASE, 1);
    await store.close();
    store = await current().reopen();
    expect(await store.outbox.get('a')).toMatchObject({ status: 'running', lockedBy: 'w', attempts: 1 });
  });
});

/** A test target as a plain Action: each call answered by the next scripted outcome. */
function scripted(outcomes: (DeliveryResult | Error | 'hang')[]): Action & { calls: ActionContext[] } {
  const calls: ActionContext[] = [];
  return {
    type: 'test',
    calls,
    async run(_payload, context) {
      calls.push(context);
      const outcome = outcomes.shift() ?? { id: 'ok' };
      if (outcome === 'hang') {
        return new Promise((_, reject) => {
          context.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        });
      }
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
  };
}

describeStores('outbox worker', (under) => {
  useOutboxStore(under);

  let clock = T0;
  const now = () => clock;
  const base = (action: Action | undefined, options: Partial<OutboxWorkerOptions> = {}) =>
    createOutboxWorker({
      store: store.outbox,
      actionFor: () => action,
      logger: silent,
      now,
      leaseMs: LEASE,
      pollMs: 20,
      concurrency: 4,
      backoff: { baseMs: 1000, maxMs: 5000, factor: 2 },
      attemptTimeoutMs: 2000,
      random: () => 0,
      id: 'worker-1',
      ...options,
    });

  beforeEach(() => {
    clock = T0;
  });

  it('completes a delivery with the target answer, its id as the idempotency key', async () => {
    const action = scripted([{ id: 'crm-7', url: 'https://crm.example/7' }]);
    await store.outbox.enqueue([newDelivery('a')], T0);
    expect(await base(action).runOnce()).toBe(1);
    expect(action.calls.map((c) => [c.deliveryId, c.attempt])).toEqual([['a', 1]]);
    expect(await store.outbox.get('a')).toMatchObject({
      status: 'done',
      attempts: 1,
      resultId: 'crm-7',
      resultUrl: 'https://crm.example/7',
    });
  });

  it('retries with exponential backoff up to the cap, then goes dead after max attempts', async () => {
    const down = () => new DeliveryError('target answered 503');
    const action = scripted([down(), down(), down(), down(), down(), down()]);
    const worker = base(action);
    await store.outbox.enqueue([newDelivery('a', { maxAttempts: 6 })], T0);
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect(await worker.runOnce()).toBe(1);
      const after = (await store.outbox.get('a'))!;
      expect(after).toMatchObject({
        status: 'pending',
        attempts: attempt,
        lastError: 'DeliveryError: target answered 503',
      });
      waits.push(after.nextAt - clock);
      // Not before its time.
      clock = after.nextAt - 1;
      expect(await worker.runOnce()).toBe(0);
      clock = after.nextAt;
    }
    expect(waits).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(await worker.runOnce()).toBe(1);
    expect(await store.outbox.get('a')).toMatchObject({ status: 'dead', attempts: 6 });
    expect(action.calls.map((c) => c.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('once its target takes a delivery, sends the others waiting out a backoff at once', async () => {
    const down = () => new DeliveryError('target answered 503');
    // a and b (two contacts) fail; a's later retry succeeds: b need not wait for its own backoff.
    const action = scripted([down(), down(), {}, {}]);
    const worker = base(action, { backoff: { baseMs: 60_000, maxMs: 3_600_000, factor: 2 }, concurrency: 1 });
    await store.outbox.enqueue([newDelivery('a', { orderKey: 'k1' })], T0);
    await worker.runOnce();
    clock += 1000;
    await store.outbox.enqueue([newDelivery('b', { orderKey: 'k2' })], clock);
    await worker.runOnce();
    expect((await store.outbox.get('b'))?.nextAt).toBe(clock + 60_000);
    clock = (await store.outbox.get('a'))!.nextAt;
    expect(await worker.runOnce()).toBe(1);
    expect(await store.outbox.get('a')).toMatchObject({ status: 'done' });
    // b's retry is due now, before its backoff said.
    expect((await store.outbox.get('b'))?.nextAt).toBe(clock);
    expect(await worker.runOnce()).toBe(1);
    expect(await store.outbox.get('b')).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('spreads retries with jitter, never beyond the cap', async () => {
    const action = scripted(Array.from({ length: 4 }, () => new DeliveryError('down')));
    const worker = base(action, { random: () => 0.999 });
    await store.outbox.enqueue([newDelivery('a')], T0);
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      await worker.runOnce();
      const after = (await store.outbox.get('a'))!;
      waits.push(after.nextAt - clock);
      clock = after.nextAt;
    }
    const expected = [1000, 2000, 4000, 5000];
    waits.forEach((wait, i) => {
      expect(wait).toBeGreaterThanOrEqual(expected[i]! * 0.8);
      expect(wait).toBeLessThan(expected[i]!);
    });
  });

  it("honours the target's Retry-After, up to a maximum", async () => {
    const action = scripted([
      new DeliveryError('429', { retryAfterMs: 30_000 }),
      new DeliveryError('503', { retryAfterMs: 10 }),
      new DeliveryError('503', { retryAfterMs: 86_400_000 }),
    ]);
    const worker = base(action, { maxRetryAfterMs: 3_600_000 });
    await store.outbox.enqueue([newDelivery('a')], T0);
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      await worker.runOnce();
      const after = (await store.outbox.get('a'))!;
      waits.push(after.nextAt - clock);
      clock = after.nextAt;
    }
    // At least what was asked; a short ask does not shorten the backoff; a huge one is capped.
    expect(waits).toEqual([30_000, 2000, 3_600_000]);
  });

  it('makes a delivery dead at once on a permanent error; retry() brings it back', async () => {
    const action = scripted([new DeliveryError('target answered 422', { permanent: true }), { id: 'crm-1' }]);
    const worker = base(action);
    await store.outbox.enqueue([newDelivery('a'), newDelivery('b')], T0);
    await worker.runOnce();
    expect(await store.outbox.get('a')).toMatchObject({
      status: 'dead',
      attempts: 1,
      lastError: 'DeliveryError: target answered 422',
    });
    // The next of its order key is no longer held back by it.
    await worker.runOnce();
    expect(await store.outbox.get('b')).toMatchObject({ status: 'done' });
    expect(await store.outbox.retry('a', clock)).toBe(true);
    await worker.runOnce();
    expect(await store.outbox.get('a')).toMatchObject({ status: 'done', attempts: 1, resultId: 'ok' });
  });

  it('retries after an unexpected error, and makes a delivery without an action dead', async () => {
    const action = scripted([new TypeError('boom')]);
    await store.outbox.enqueue(
      [newDelivery('a', { orderKey: 'A' }), newDelivery('b', { orderKey: 'B' })],
      T0,
    );
    const worker = base(undefined, {
      actionFor: (delivery) => (delivery.id === 'a' ? action : undefined),
    });
    await worker.runOnce();
    expect(await store.outbox.get('a')).toMatchObject({ status: 'pending', lastError: 'TypeError: boom' });
    expect(await store.outbox.get('b')).toMatchObject({
      status: 'dead',
      lastError: 'no action of type "test"',
    });
  });

  it('aborts an attempt that outlasts its time and retries it', async () => {
    const action = scripted(['hang']);
    const worker = base(action, { attemptTimeoutMs: 50, leaseMs: 1000 });
    await store.outbox.enqueue([newDelivery('a')], T0);
    // The action never ends by itself: runOnce returns only because the attempt was cut off.
    await worker.runOnce();
    expect(action.calls[0]?.signal.aborted).toBe(true);
    expect(await store.outbox.get('a')).toMatchObject({
      status: 'pending',
      attempts: 1,
      nextAt: T0 + 1000,
      lastError: 'attempt timed out after 50 ms',
    });
  });

  it('leaves an action that ignores its signal behind when the attempt times out', async () => {
    const ignoring: Action = { type: 'test', run: () => new Promise(() => {}) };
    const worker = base(ignoring, { attemptTimeoutMs: 30, leaseMs: 1000 });
    await store.outbox.enqueue([newDelivery('a')], T0);
    await worker.runOnce();
    expect(await store.outbox.get('a')).toMatchObject({ status: 'pending', attempts: 1 });
  });

  it('renews the lease while an attempt runs: a short lease is not taken over under a live worker', async () => {
    let finish: ((result: DeliveryResult) => void) | undefined;
    const slow: Action = {
      type: 'test',
      run: () =>
        new Promise((resolve) => {
          finish = resolve;
        }),
    };
    // An attempt may take far longer than the lease.
    const worker = base(slow, { leaseMs: 600, attemptTimeoutMs: 60_000 });
    await store.outbox.enqueue([newDelivery('a')], T0);
    const attempt = worker.runOnce();
    await until(() => finish !== undefined, 5000, 'the attempt to start');
    expect(await store.outbox.get('a')).toMatchObject({ status: 'running', lockedUntil: T0 + 600 });
    // Time passes for the store: the worker's renewals carry the lease on from the time it is.
    clock = T0 + 500;
    await until(async () => (await store.outbox.get('a'))?.lockedUntil === T0 + 1100, 5000, 'a renewal');
    clock = T0 + 1000;
    await until(async () => (await store.outbox.get('a'))?.lockedUntil === T0 + 1600, 5000, 'a renewal');
    // Past the first lease's end, another worker finds nothing to take.
    expect(await (await secondStore()).outbox.claim('worker-2', T0 + 1050, 600, 10)).toEqual([]);
    finish!({ id: 'crm-a' });
    await attempt;
    expect(await store.outbox.get('a')).toMatchObject({ status: 'done', attempts: 1, resultId: 'crm-a' });
  });

  it('at start, takes back at once the leases of its instance’s earlier run, and no one else’s', async () => {
    await store.outbox.enqueue(
      [
        newDelivery('a1', { orderKey: 'A' }),
        newDelivery('a2', { orderKey: 'A' }),
        newDelivery('b1', { orderKey: 'B' }),
      ],
      T0,
    );
    // The instance's earlier run leased a1, then died; another process holds b1, alive.
    await store.outbox.claim('inst-1:earlier', T0, LEASE, 1);
    await store.outbox.claim('inst-2:alive', T0, LEASE, 1);
    expect((await store.outbox.list({ status: 'running' })).map((d) => [d.id, d.lockedBy])).toEqual([
      ['a1', 'inst-1:earlier'],
      ['b1', 'inst-2:alive'],
    ]);
    const action = scripted([]);
    // The store's time stands still: nothing runs out by itself.
    const worker = base(action, { instance: 'inst-1', id: undefined });
    worker.start();
    try {
      await until(async () => (await store.outbox.counts()).done === 2, 5000, 'a1 and a2 delivered');
    } finally {
      await worker.stop();
    }
    expect(action.calls.map((c) => [c.deliveryId, c.attempt])).toEqual([
      ['a1', 2],
      ['a2', 1],
    ]);
    expect(worker.id).toMatch(/^inst-1:/);
    expect(await store.outbox.get('b1')).toMatchObject({ status: 'running', lockedBy: 'inst-2:alive' });
  });

  it('writes an outcome back once the store answers again, instead of leaving the delivery to be made again', async () => {
    const action = scripted([{ id: 'crm-a' }]);
    await store.outbox.enqueue([newDelivery('a')], T0);
    // The store stops answering (a restart) after the target has taken the delivery.
    let failures = 3;
    const outbox: typeof store.outbox = {
      ...store.outbox,
      complete: (...args) =>
        failures-- > 0
          ? Promise.reject(new Error('Connection terminated unexpectedly'))
          : store.outbox.complete(...args),
    };
    expect(await base(action, { store: outbox }).runOnce()).toBe(1);
    expect(failures).toBe(-1);
    expect(await store.outbox.get('a')).toMatchObject({ status: 'done', attempts: 1, resultId: 'crm-a' });
    // Nothing is left for another worker, even once the lease is over.
    clock = T0 + LEASE;
    expect(await base(action, { id: 'worker-2' }).runOnce()).toBe(0);
    expect(action.calls.map((c) => [c.deliveryId, c.attempt])).toEqual([['a', 1]]);
  });

  it('takes over the delivery of a worker that died once its lease runs out', async () => {
    await store.outbox.enqueue([newDelivery('a'), newDelivery('b', { orderKey: 'other' })], T0);
    // The first worker leases both, then its process is gone: nothing renews or writes back.
    expect(await store.outbox.claim('dead-worker', T0, LEASE, 10)).toHaveLength(2);
    const action = scripted([]);
    const worker = base(action, { store: (await secondStore()).outbox });
    expect(await worker.runOnce()).toBe(0);
    clock = T0 + LEASE - 1;
    expect(await worker.runOnce()).toBe(0);
    clock = T0 + LEASE;
    expect(await worker.runOnce()).toBe(2);
    expect(action.calls.map((c) => [c.deliveryId, c.attempt])).toEqual([
      ['a', 2],
      ['b', 2],
    ]);
    expect(await store.outbox.counts()).toMatchObject({ done: 2 });
  });

  it('runs different order keys in parallel and one key in order', async () => {
    const gates = new Map<string, () => void>();
    const started: string[] = [];
    const action: Action = {
      type: 'test',
      run: (_payload, { deliveryId }) =>
        new Promise((resolve) => {
          started.push(deliveryId);
          gates.set(deliveryId, () => resolve({ id: deliveryId }));
        }),
    };
    await store.outbox.enqueue(
      [
        newDelivery('a1', { orderKey: 'A' }),
        newDelivery('a2', { orderKey: 'A' }),
        newDelivery('b1', { orderKey: 'B' }),
        newDelivery('c1', { orderKey: 'C' }),
      ],
      T0,
    );
    const worker = base(action, { now: Date.now });
    worker.start();
    try {
      await until(() => started.length === 3, 2000, 'three attempts');
      expect([...started].sort()).toEqual(['a1', 'b1', 'c1']);
      // a2 waits for a1, even with free slots and time passing.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(started).toHaveLength(3);
      gates.get('b1')!();
      gates.get('c1')!();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(started).toHaveLength(3);
      gates.get('a1')!();
      await until(() => started.length === 4, 2000, 'a2');
      expect(started[3]).toBe('a2');
      gates.get('a2')!();
      await until(async () => (await store.outbox.counts()).done === 4, 2000, 'all done');
    } finally {
      await worker.stop();
    }
  });

  it('does not run more attempts than its concurrency', async () => {
    let active = 0;
    let most = 0;
    const action: Action = {
      type: 'test',
      async run() {
        most = Math.max(most, ++active);
        await new Promise((resolve) => setTimeout(resolve, 10));
        active--;
        return {};
      },
    };
    await store.outbox.enqueue(
      Array.from({ length: 40 }, (_, i) => newDelivery(`d${i}`, { orderKey: `k${i}` })),
      Date.now(),
    );
    // No poll comes within the test: only slots filled as attempts finish can get through the 40.
    const worker = base(action, { now: Date.now, concurrency: 3, pollMs: 3_600_000 });
    worker.start();
    try {
      await until(async () => (await store.outbox.counts()).done === 40, 30_000, 'all done');
    } finally {
      await worker.stop();
    }
    expect(most).toBe(3);
  });

  it('waitFor answers once the delivery is done, or as it stands at the time limit', async () => {
    let release: (() => void) | undefined;
    const action: Action = {
      type: 'test',
      run: (_payload, { deliveryId }) =>
        deliveryId === 'slow'
          ? new Promise((resolve) => {
              release = () => resolve({ id: 'crm-slow' });
            })
          : new Promise((resolve) => setTimeout(() => resolve({ id: 'crm-fast' }), 30)),
    };
    // Polls and the wait's own limit lie beyond the test's timeout: only the write-back can wake it.
    const worker = base(action, { now: Date.now, pollMs: 600_000 });
    worker.start();
    try {
      await store.outbox.enqueue([newDelivery('fast', { orderKey: 'F' })], Date.now());
      worker.kick();
      const fast = await worker.waitFor('fast', 600_000);
      expect(fast).toMatchObject({ status: 'done', resultId: 'crm-fast' });

      await store.outbox.enqueue([newDelivery('slow', { orderKey: 'S' })], Date.now());
      worker.kick();
      const t2 = Date.now();
      const waiting = await worker.waitFor('slow', 150);
      expect(Date.now() - t2).toBeGreaterThanOrEqual(140);
      expect(waiting).toMatchObject({ status: 'running', attempts: 1 });
      expect(await worker.waitFor('missing', 50)).toBeUndefined();
      release!();
      expect(await worker.waitFor('slow', 2000)).toMatchObject({ status: 'done' });
    } finally {
      await worker.stop();
    }
  });

  it('waitFor sees a delivery another process completes', async () => {
    const idle = base(undefined, { now: Date.now, pollMs: 20 });
    await store.outbox.enqueue([newDelivery('a')], Date.now());
    const other = await secondStore();
    const elsewhere = createOutboxWorker({
      store: other.outbox,
      actionFor: () => scripted([{ id: 'crm-a' }]),
      logger: silent,
      leaseMs: LEASE,
      pollMs: 20,
      concurrency: 1,
      backoff: { baseMs: 1000, maxMs: 5000, factor: 2 },
      attemptTimeoutMs: 2000,
    });
    const waiting = idle.waitFor('a', 3000);
    await elsewhere.runOnce();
    expect(await waiting).toMatchObject({ status: 'done', resultId: 'crm-a' });
  });

  it('stops gracefully: lets attempts finish, then aborts and releases those that do not', async () => {
    // The quick attempt ends once the stop has begun; the stuck one never ends by itself.
    let finishQuick = () => {};
    const quickMayFinish = new Promise<void>((resolve) => {
      finishQuick = resolve;
    });
    let started = 0;
    const action: Action = {
      type: 'test',
      run: (_payload, { deliveryId, signal }) =>
        new Promise((resolve, reject) => {
          started += 1;
          if (deliveryId === 'quick') void quickMayFinish.then(() => resolve({ id: 'crm-quick' }));
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        }),
    };
    await store.outbox.enqueue(
      [newDelivery('quick', { orderKey: 'Q' }), newDelivery('stuck', { orderKey: 'S', maxAttempts: 1 })],
      Date.now(),
    );
    const worker = base(action, { now: Date.now, stopGraceMs: 200, attemptTimeoutMs: 5000 });
    worker.start();
    await until(async () => started === 2, 10_000, 'both running');
    expect((await store.outbox.counts()).running).toBe(2);
    // Stop returns only because the grace ran out for the stuck attempt; the quick one ends within it.
    const stopped = worker.stop();
    finishQuick();
    await stopped;
    expect(await store.outbox.get('quick')).toMatchObject({ status: 'done' });
    // Released for the next worker at once; a stop is not the target's fault, so not dead.
    const stuck = await store.outbox.get('stuck');
    expect(stuck).toMatchObject({ status: 'pending', lastError: 'interrupted: the worker stopped' });
    expect(stuck?.lockedBy).toBeUndefined();
    expect(stuck!.nextAt).toBeLessThanOrEqual(Date.now());
    // Stopped: nothing more is claimed.
    await store.outbox.enqueue([newDelivery('later', { orderKey: 'L' })], Date.now());
    worker.kick();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await store.outbox.get('later')).toMatchObject({ status: 'pending' });
  });

  it('logs failures without payload, phone numbers or stacks', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    const error = new DeliveryError('target answered 503', { cause: new Error(`payload ${PHONE}`) });
    const action = scripted([error, new DeliveryError('target answered 400', { permanent: true })]);
    await store.outbox.enqueue([newDelivery('a', { orderKey: PHONE })], T0);
    const worker = base(action, { logger });
    await worker.runOnce();
    clock += 10_000;
    await worker.runOnce();
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const all = lines.join('\n');
    expect(all).not.toContain(PHONE);
    expect(all).not.toContain('41445551234');
    expect(all).not.toMatch(/stack|at .*\.ts:\d+/);
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries[0]).toMatchObject({
      delivery: 'a',
      attempt: 1,
      err: 'DeliveryError: target answered 503',
      retryInMs: 1000,
    });
    expect(entries[1]).toMatchObject({ delivery: 'a', attempt: 2, msg: 'outbox delivery failed: dead' });
  });
});
