// outbox-drain: the durable outbox on its own, in this process (the build's SQLite store, outbox
// worker and webhook action; no HTTP in front): deliveries of many order keys enqueued one by one while
// the webhook target answers 503, then the target back and the drain timed. Every delivery must arrive
// once (by its Idempotency-Key) and each key's deliveries in the order enqueued.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import type { HookStats } from '../servers/hook.js';
import { freshDir } from '../support/callcard.js';
import { log, sleep, stop } from '../support/children.js';
import type { Context } from '../support/context.js';
import { HOST } from '../support/http.js';
import { num, round } from '../support/numbers.js';
import { failed } from '../support/report.js';
import { hookCall, startHook } from '../support/workflow.js';
import { defineScenario } from './types.js';

type StoreModule = typeof import('../../src/store/sqlite/sqlite-store.js');
type WorkerModule = typeof import('../../src/workflows/outbox/worker.js');
type WebhookModule = typeof import('../../src/workflows/actions/webhook.js');

const BACKOFF = { baseMs: 100, maxMs: 1000, factor: 2 };
/** Bound on each wait: every key tried while down, and the drain. */
const WAIT_LIMIT_MS = 300_000;

export interface OutboxDrainResult {
  readonly deliveries: number;
  readonly orderKeys: number;
  readonly concurrency: number;
  readonly backoff: typeof BACKOFF;
  readonly enqueueMs: number;
  readonly enqueuePerSecond: number;
  readonly failedAttemptsWhileDown: number;
  readonly drainMs: number | null;
  readonly deliveriesPerSecond: number | null;
  readonly counts: Readonly<Record<string, number>>;
  readonly target: HookStats;
  readonly pass: { allDelivered: boolean; noDuplicates: boolean; orderKept: boolean; noneDead: boolean };
}

async function dist<T>(ctx: Context, path: string): Promise<T> {
  return (await import(pathToFileURL(join(ctx.paths.dist, path)).href)) as T;
}

/** Polls until `check` holds; false when `ms` passed first. */
async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

export default defineScenario<OutboxDrainResult>({
  name: 'outbox-drain',
  description: 'the outbox alone: deliveries kept while the target is down, then the drain rate',
  byDefault: true,
  group: 'workflows',
  needs: [],
  async run(ctx) {
    const { drainCalls: CALLS, drainKeys: KEYS, drainConcurrency: CONCURRENCY } = ctx.options;
    const { openSqliteStore } = await dist<StoreModule>(ctx, 'store/sqlite/sqlite-store.js');
    const { createOutboxWorker } = await dist<WorkerModule>(ctx, 'workflows/outbox/worker.js');
    const { createWebhookAction, webhookActionSchema } = await dist<WebhookModule>(
      ctx,
      'workflows/actions/webhook.js',
    );
    const dir = join(ctx.paths.work, 'outbox-drain');
    freshDir(dir);
    const hook = await startHook(ctx);
    const store = openSqliteStore(dir);
    const action = createWebhookAction(
      webhookActionSchema.parse({
        type: 'webhook',
        url: `http://${HOST}:${ctx.ports.hook}/hook`,
        maxAttempts: 1000,
      }),
      { baseDir: dir },
    );
    const worker = createOutboxWorker({
      store: store.outbox,
      actionFor: () => action,
      logger: pino({ level: 'silent' }),
      leaseMs: 30_000,
      pollMs: 100,
      concurrency: CONCURRENCY,
      backoff: BACKOFF,
      attemptTimeoutMs: 10_000,
    });
    let stopping: Promise<void> | undefined;
    const stopWorker = () => {
      stopping ??= worker.stop();
      return stopping;
    };
    try {
      await hookCall(ctx, 'POST', '/_bench/status/503');
      await hookCall(ctx, 'POST', '/_bench/reset');
      worker.start();
      log(`outbox drain: enqueueing ${num(CALLS)} deliveries of ${KEYS} order keys while the target is down`);
      // One enqueue per call, as CallFlow makes them, while the worker keeps failing against the target.
      const enqueueStart = performance.now();
      for (let i = 0; i < CALLS; i++) {
        const key = `contact-${i % KEYS}`;
        const n = Math.floor(i / KEYS);
        await store.outbox.enqueue(
          [
            {
              id: `CallFlow:call-${i}:0`,
              workflow: 'CallFlow',
              callId: `call-${i}`,
              action: 0,
              actionType: 'webhook',
              orderKey: key,
              // The webhook target checks call.contactCrmId's benchSeq order.
              payload: { call: { contactCrmId: key, benchSeq: n } },
              maxAttempts: 1000,
            },
          ],
          Date.now(),
        );
        if (i % 500 === 0) worker.kick();
      }
      const enqueueMs = performance.now() - enqueueStart;
      const triedAll = await until(
        async () => (await hookCall(ctx, 'GET', '/_bench/stats')).requests >= Math.min(KEYS, CALLS),
        WAIT_LIMIT_MS,
      );
      if (!triedAll) throw new Error('the worker did not try every order key while the target was down');
      const whileDown = await hookCall(ctx, 'GET', '/_bench/stats');

      log('outbox drain: target up, draining');
      await hookCall(ctx, 'POST', '/_bench/status/200');
      const drainStart = performance.now();
      const drained = await until(async () => (await store.outbox.counts()).done === CALLS, WAIT_LIMIT_MS);
      const drainMs = drained ? performance.now() - drainStart : null;
      await stopWorker();
      const counts = await store.outbox.counts();
      const target = await hookCall(ctx, 'GET', '/_bench/stats');
      const pass = {
        allDelivered: target.distinctKeys === CALLS && counts.done === CALLS,
        noDuplicates: target.keysTwice === 0,
        orderKept: target.orderViolations === 0 && target.orderChecked === CALLS,
        noneDead: counts.dead === 0,
      };
      log(
        `outbox drain: ${drainMs === null ? 'not drained' : `${Math.round(drainMs)} ms`}; pass ${JSON.stringify(pass)}`,
      );
      return {
        deliveries: CALLS,
        orderKeys: KEYS,
        concurrency: CONCURRENCY,
        backoff: BACKOFF,
        enqueueMs: Math.round(enqueueMs),
        enqueuePerSecond: Math.round(CALLS / (enqueueMs / 1000)),
        failedAttemptsWhileDown: whileDown.requests,
        drainMs: drainMs === null ? null : Math.round(drainMs),
        deliveriesPerSecond: drainMs === null ? null : Math.round(CALLS / (drainMs / 1000)),
        counts,
        target,
        pass,
      };
    } finally {
      await stopWorker();
      await action.close?.();
      await store.close();
      await stop(hook);
    }
  },
  notes: (r) => [
    `outbox drain: the build's outbox worker in the bench process, webhook action to the local target; ` +
      `${num(r.deliveries)} deliveries of ${r.orderKeys} order keys, concurrency ${r.concurrency}, ` +
      `backoff ${r.backoff.baseMs}..${r.backoff.maxMs} ms`,
  ],
  rows(report, outcome) {
    const title = 'outbox alone';
    if (!outcome.ok) return report.row(title, failed(outcome));
    const r = outcome.result;
    report.row(
      `${title}: enqueue while target down`,
      `${num(r.deliveries)} in ${r.enqueueMs} ms (${num(r.enqueuePerSecond)}/s); ${num(r.failedAttemptsWhileDown)} attempts refused`,
    );
    report.row(
      `${title}: drain once target up`,
      r.drainMs === null
        ? `not drained within ${WAIT_LIMIT_MS / 1000} s`
        : `${num(r.deliveriesPerSecond)} deliveries/s (${round(r.drainMs / 1000, 1)} s)`,
    );
    report.row(
      `${title}: keys / twice / order / dead`,
      `${num(r.target.distinctKeys)} keys, ${r.target.keysTwice} twice, ${r.target.orderViolations} out of order, ` +
        `${r.counts['dead']} dead`,
      `${num(r.deliveries)}, 0, 0, 0`,
      r.pass.allDelivered && r.pass.noDuplicates && r.pass.orderKept && r.pass.noneDead,
    );
  },
  pass: (r) => ({
    outboxDrainAllDelivered: r.pass.allDelivered,
    outboxDrainNoDuplicates: r.pass.noDuplicates,
    outboxDrainOrderKept: r.pass.orderKept,
    outboxDrainNoneDead: r.pass.noneDead,
  }),
});
