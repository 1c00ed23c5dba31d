import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { tempDir } from '../support/helper.js';
import { newDelivery, startTarget, type Target, until } from '../support/outbox.js';

// Worker processes on the same outbox as the test, delivering to a target in the test process.
// Each child is `node --import tsx`, so no build is needed.

const CHILD = fileURLToPath(new URL('./outbox/child.ts', import.meta.url));

interface Child {
  readonly process: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly stderr: () => string;
}

let dir: ReturnType<typeof tempDir>;
let store: Store;
let target: Target;
const children: Child[] = [];

beforeEach(async () => {
  dir = tempDir('callcard-outbox-crash-');
  store = openSqliteStore(dir.path);
});

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
    await child.exited;
  }
  await target?.close();
  await store.close();
  dir.remove();
});

function startChild(options: Record<string, number | boolean> = {}): Child {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CHILD, dir.path, target.url, JSON.stringify(options)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.once('exit', () => reject(new Error(`child exited before it was ready: ${stderr}`)));
  });
  ready.catch(() => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const handle = { process: child, ready, exited, stderr: () => stderr };
  children.push(handle);
  return handle;
}

async function allDone(count: number): Promise<boolean> {
  return (await store.outbox.counts()).done === count;
}

/** Per order key, the numbers of the deliveries in the order the target first saw them. */
function arrivalOrder(): Map<string, number[]> {
  const seen = new Set<string>();
  const order = new Map<string, number[]>();
  for (const hit of target.hits) {
    if (seen.has(hit.key)) continue;
    seen.add(hit.key);
    order.set(hit.orderKey, [...(order.get(hit.orderKey) ?? []), hit.n]);
  }
  return order;
}

const ascending = (values: number[]) => values.every((value, i) => i === 0 || values[i - 1]! < value);

describe('outbox across processes', () => {
  it('delivers everything after a worker is killed mid-delivery, repeating only what was in flight', async () => {
    target = await startTarget({ delayMs: 150 });
    const keys = 8;
    const perKey = 5;
    const items = Array.from({ length: keys * perKey }, (_, i) =>
      newDelivery(`call-${i}`, { orderKey: `contact-${i % keys}`, n: Math.floor(i / keys) }),
    );
    await store.outbox.enqueue(items, Date.now());

    const first = startChild({ concurrency: 2, leaseMs: 1500, attemptTimeoutMs: 1000 });
    await first.ready;
    // Some deliveries made, and one recorded by the target but not yet answered: kill it there.
    await until(() => target.hits.length >= 6 && target.inFlight > 0, 20_000, 'a delivery in flight');
    first.process.kill('SIGKILL');
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
    const inFlightAtKill = new Set((await store.outbox.list({ status: 'running' })).map((d) => d.id));
    expect(inFlightAtKill.size).toBeGreaterThan(0);
    const doneAtKill = (await store.outbox.counts()).done;
    expect(doneAtKill).toBeLessThan(items.length);

    // A new process takes over, the killed one's leases once they have run out.
    const second = startChild({ concurrency: 2, leaseMs: 1500, attemptTimeoutMs: 1000 });
    await second.ready;
    await until(() => allDone(items.length), 40_000, 'every delivery done');
    second.process.kill('SIGTERM');
    expect(await second.exited).toMatchObject({ code: 0 });
    expect(second.stderr()).toBe('');

    const counts = target.counts();
    // The target saw every delivery, and nothing else.
    expect(new Set(counts.keys())).toEqual(new Set(items.map((item) => item.id)));
    // Recorded by key, each is one record: the exactly-once effect.
    expect(counts.size).toBe(items.length);
    // Repeats only of what the killed worker had in flight.
    const repeated = [...counts].filter(([, n]) => n > 1).map(([key]) => key);
    for (const key of repeated) expect(inFlightAtKill.has(key)).toBe(true);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(2);
    // Per contact, in the order enqueued.
    for (const [, order] of arrivalOrder()) expect(ascending(order)).toBe(true);
    const final = await store.outbox.list({ limit: 1000 });
    expect(final.every((d) => d.status === 'done' && d.resultId === `crm-${d.id}`)).toBe(true);
    console.log(
      `crash test: ${items.length} deliveries, ${inFlightAtKill.size} in flight at the kill, ` +
        `${repeated.length} delivered twice, ${target.hits.length} requests recorded`,
    );
  }, 60_000);

  it('after a restart, the killed run’s deliveries and the calls queued behind them go at once, not when the leases run out', async () => {
    target = await startTarget({ delayMs: 150 });
    const keys = 4;
    const perKey = 4;
    const items = Array.from({ length: keys * perKey }, (_, i) =>
      newDelivery(`call-${i}`, { orderKey: `contact-${i % keys}`, n: Math.floor(i / keys) }),
    );
    await store.outbox.enqueue(items, Date.now());
    // Leases far longer than this test may take: only taking them back can finish it.
    const settings = { concurrency: 2, leaseMs: 600_000, attemptTimeoutMs: 1000, instance: true };
    const first = startChild(settings);
    await first.ready;
    await until(() => target.hits.length >= 2 && target.inFlight > 0, 20_000, 'a delivery in flight');
    first.process.kill('SIGKILL');
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
    const running = await store.outbox.list({ status: 'running' });
    expect(running.length).toBeGreaterThan(0);
    // The contacts of the deliveries in flight have later calls waiting behind them.
    const blocked = items.filter(
      (item) => running.some((d) => d.orderKey === item.orderKey) && !running.some((d) => d.id === item.id),
    );
    expect(blocked.length).toBeGreaterThan(0);
    const leasesEnd = Math.min(...running.map((d) => d.lockedUntil!));

    const second = startChild(settings);
    await second.ready;
    await until(() => allDone(items.length), 40_000, 'every delivery done');
    // Done while the killed run's leases still held: the restarted instance took them back.
    expect(Date.now()).toBeLessThan(leasesEnd);
    second.process.kill('SIGTERM');
    expect(await second.exited).toMatchObject({ code: 0 });
    expect(second.stderr()).toContain('deliveries left running by an earlier run are due again');

    const counts = target.counts();
    expect(new Set(counts.keys())).toEqual(new Set(items.map((item) => item.id)));
    for (const [key, n] of counts) if (n > 1) expect(running.some((d) => d.id === key)).toBe(true);
    for (const [, order] of arrivalOrder()) expect(ascending(order)).toBe(true);
    const final = await store.outbox.list({ limit: 1000 });
    expect(final.every((d) => d.status === 'done' && d.resultId === `crm-${d.id}`)).toBe(true);
  }, 60_000);

  it('never lets two live processes make the same delivery', async () => {
    target = await startTarget({ delayMs: 20 });
    const items = Array.from({ length: 60 }, (_, i) =>
      newDelivery(`call-${i}`, { orderKey: `contact-${i % 12}`, n: Math.floor(i / 12) }),
    );
    const a = startChild({ concurrency: 3 });
    const b = startChild({ concurrency: 3 });
    await Promise.all([a.ready, b.ready]);
    // Enqueued while both poll: they compete for every claim.
    for (let i = 0; i < items.length; i += 10) await store.outbox.enqueue(items.slice(i, i + 10), Date.now());
    await until(() => allDone(items.length), 30_000, 'every delivery done');
    a.process.kill('SIGTERM');
    b.process.kill('SIGTERM');
    expect(await a.exited).toMatchObject({ code: 0 });
    expect(await b.exited).toMatchObject({ code: 0 });
    const counts = target.counts();
    expect(counts.size).toBe(items.length);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    for (const [, order] of arrivalOrder()) expect(ascending(order)).toBe(true);
  }, 60_000);
});
