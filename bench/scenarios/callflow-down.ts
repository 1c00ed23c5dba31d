// callflow-down: while the webhook target answers 503, 10,000 distinct calls of 50 contacts (a sequence
// number per contact in a custom field) posted 8 at a time; then the target answers 200 and the drain
// is timed (at most --wf-drain-limit s): each key must arrive once, each contact's calls in order.
import type { HookStats } from '../servers/hook.js';
import { startCallcard } from '../support/callcard.js';
import { log, sleep, stop } from '../support/children.js';
import { num, round } from '../support/numbers.js';
import { type ProcStatus, procStatus } from '../support/proc.js';
import { failed, ms } from '../support/report.js';
import {
  callBody,
  freshCalls,
  hookCall,
  type OutboxCounts,
  outboxCounts,
  outboxSettled,
  type Posting,
  postCalls,
  startHook,
  WF_DELIVERY,
  WF_MAX_ATTEMPTS,
  workflowConfig,
} from '../support/workflow.js';
import { workflowNote } from './callflow.js';
import { knownNumbers } from './contacts.js';
import { defineScenario } from './types.js';

const WF_DOWN_CONTACTS = 50;

export interface CallFlowDownResult {
  readonly calls: number;
  readonly contacts: number;
  readonly delivery: typeof WF_DELIVERY;
  readonly maxAttempts: number;
  readonly drainLimitMs: number;
  readonly startupMs: number;
  readonly posting: Posting;
  readonly outboxBeforeUp: OutboxCounts;
  readonly targetWhileDown: HookStats;
  readonly drainTimedOut: boolean;
  readonly outboxAfter: OutboxCounts & { waitedMs: number };
  readonly target: HookStats;
  readonly end: ProcStatus;
  readonly drain: {
    firstDeliveryAfterUpMs: number | null;
    allDeliveredAfterUpMs: number | null;
    deliveriesPerSecond: number | null;
  };
  readonly pass: {
    acceptedAll: boolean;
    nothingDeliveredWhileDown: boolean;
    noneDead: boolean;
    allDelivered: boolean;
    noDuplicates: boolean;
    orderKept: boolean;
  };
}

const sec = (msValue: number | null): string =>
  msValue === null ? 'n/a' : `${(msValue / 1000).toFixed(1)} s`;

export default defineScenario<CallFlowDownResult>({
  name: 'callflow-down',
  description: 'CallFlow posts while the target answers 503, then the outbox drain: once, in order',
  byDefault: true,
  group: 'workflows',
  needs: ['import'],
  async run(ctx) {
    const { options } = ctx;
    const CALLS = options.wfDownCalls;
    const drainLimitMs = options.wfDrainLimit * 1000;
    const { hits } = knownNumbers(ctx);
    if (hits.length < WF_DOWN_CONTACTS) throw new Error(`needs ${WF_DOWN_CONTACTS} known contacts`);
    const hook = await startHook(ctx);
    let server: Awaited<ReturnType<typeof startCallcard>> | undefined;
    try {
      await hookCall(ctx, 'POST', '/_bench/status/503');
      await hookCall(ctx, 'POST', '/_bench/reset');
      freshCalls(ctx);
      const config = await workflowConfig(ctx, 'workflow-down', options.wfDownBudgetMs);
      const contacts = Array.from(
        { length: WF_DOWN_CONTACTS },
        (_, k) => hits[Math.floor((k * hits.length) / WF_DOWN_CONTACTS)]!,
      );
      const base = Date.UTC(2026, 6, 1);
      // Call i is for contact i mod 50, its seq-th call: the seq grows in the order they are posted.
      const bodies = Array.from({ length: CALLS }, (_, i) => {
        const contact = contacts[i % contacts.length]!;
        return callBody({
          number: contact.number,
          contactId: contact.id,
          at: base + i * 1000,
          seq: Math.floor(i / contacts.length),
          tag: 'down',
        });
      });
      // Fewer posts at once than contacts: a contact's next call is posted after its previous one was answered.
      const concurrency = Math.max(1, Math.min(options.wfDownConcurrency, contacts.length - 1));
      log('starting callcard with CallFlow -> webhook (target down: 503)');
      server = await startCallcard(ctx, { logLevel: 'warn', logTo: 'ignore', config });
      log(
        `target down: posting ${CALLS} distinct calls of ${contacts.length} contacts, ${concurrency} at a time`,
      );
      const posting = await postCalls(ctx, bodies, concurrency);
      log(`posted in ${posting.seconds} s (${posting.postsPerSecond}/s), ${posting.status200} x 200`);
      const outboxBeforeUp = await outboxCounts(ctx, config);
      const targetWhileDown = await hookCall(ctx, 'GET', '/_bench/stats');
      const up = await hookCall(ctx, 'POST', '/_bench/status/200');
      const upAt = up.statusSince;
      log('target up (200): waiting for every delivery');
      let drainTimedOut = false;
      let lastLog = Date.now();
      for (;;) {
        const stats = await hookCall(ctx, 'GET', '/_bench/stats');
        if (stats.distinctKeys >= CALLS) break;
        if (Date.now() - upAt > drainLimitMs) {
          drainTimedOut = true;
          log(`drain: only ${stats.distinctKeys} of ${CALLS} after ${drainLimitMs / 1000} s, giving up`);
          break;
        }
        if (Date.now() - lastLog > 10_000) {
          log(`drain: ${stats.distinctKeys} of ${CALLS} delivered`);
          lastLog = Date.now();
        }
        await sleep(250);
      }
      const outboxAfter = await outboxSettled(ctx, config, 30_000);
      const target = await hookCall(ctx, 'GET', '/_bench/stats');
      const end = procStatus(server.child.pid);
      const complete = target.distinctKeys >= CALLS && target.lastNewKeyAt !== null;
      const first = target.first200At;
      const last = target.lastNewKeyAt;
      const drain = {
        firstDeliveryAfterUpMs: first !== null ? first - upAt : null,
        allDeliveredAfterUpMs: complete && last !== null ? last - upAt : null,
        deliveriesPerSecond:
          complete && last !== null && first !== null && last > first
            ? round(target.distinctKeys / ((last - first) / 1000), 1)
            : null,
      };
      const pass = {
        acceptedAll: posting.status200 === CALLS && posting.errors === 0,
        nothingDeliveredWhileDown: targetWhileDown.distinctKeys === 0,
        noneDead: outboxBeforeUp.dead === 0 && outboxAfter.dead === 0,
        allDelivered: target.distinctKeys === CALLS && outboxAfter.done === CALLS,
        noDuplicates: target.keysTwice === 0,
        orderKept: target.orderViolations === 0 && target.orderChecked === CALLS,
      };
      log(
        `drain: first delivery ${drain.firstDeliveryAfterUpMs} ms after up, all ${drain.allDeliveredAfterUpMs} ms; ` +
          `pass ${JSON.stringify(pass)}`,
      );
      return {
        calls: CALLS,
        contacts: contacts.length,
        delivery: { ...WF_DELIVERY, answerBudgetMs: options.wfDownBudgetMs },
        maxAttempts: WF_MAX_ATTEMPTS,
        drainLimitMs,
        startupMs: server.startupMs,
        posting,
        outboxBeforeUp,
        targetWhileDown,
        drainTimedOut,
        outboxAfter,
        target,
        end,
        drain,
        pass,
      };
    } finally {
      if (server) await stop(server.child);
      await stop(hook);
      freshCalls(ctx);
    }
  },
  notes: (_b, ctx) => [
    ...(ctx.results.callflow ? [] : [workflowNote()]),
    `  target down (503): ${num(ctx.options.wfDownCalls)} distinct calls of ${WF_DOWN_CONTACTS} contacts, ` +
      `answerBudgetMs ${ctx.options.wfDownBudgetMs} (with a budget, every answer waits all of it while the target is down: see the ` +
      "probe row); then the target answers 200 and the outbox drains; the target checks each contact's sequence",
  ],
  rows(report, outcome) {
    const title = 'CallFlow, target down';
    if (!outcome.ok) return report.row(title, failed(outcome));
    const b = outcome.result;
    report.row(
      `${title}: ${num(b.calls)} posts accepted`,
      `${b.posting.seconds} s (${num(Math.round(b.posting.postsPerSecond))} posts/s, ${b.posting.concurrency} at a time, ` +
        `p99 ${ms(b.posting.latencyMs.p99)}); ${num(b.posting.status200)} x 200, ${b.posting.errors} errors`,
      'all 200',
      b.pass.acceptedAll,
    );
    report.row(
      `${title}: outbox before up`,
      `${num(b.outboxBeforeUp.pending + b.outboxBeforeUp.running)} open, ${b.outboxBeforeUp.dead} dead; ` +
        `${num(b.targetWhileDown.byStatus['503'] ?? 0)} attempts refused (503)`,
      '0 dead',
      b.pass.noneDead && b.pass.nothingDeliveredWhileDown,
    );
    report.row(
      'target back up: drain',
      `first delivery ${sec(b.drain.firstDeliveryAfterUpMs)} after up, all ${sec(b.drain.allDeliveredAfterUpMs)} after up ` +
        `(${num(b.drain.deliveriesPerSecond)} deliveries/s)` +
        (b.drainTimedOut ? `, STOPPED at ${b.drainLimitMs / 1000} s` : ''),
      `< ${b.drainLimitMs / 1000} s`,
      !b.drainTimedOut && b.drain.allDeliveredAfterUpMs !== null,
    );
    report.row(
      'target back up: keys / twice / outbox',
      `${num(b.target.distinctKeys)} distinct keys, ${b.target.keysTwice} received twice; outbox ${num(b.outboxAfter.done)} done, ` +
        `${b.outboxAfter.pending + b.outboxAfter.running} open, ${b.outboxAfter.dead} dead`,
      `${num(b.calls)}, 0 twice`,
      b.pass.allDelivered && b.pass.noDuplicates && b.pass.noneDead,
    );
    report.row(
      'target back up: order per contact',
      `${b.target.orderViolations} out of order (${num(b.target.orderChecked)} deliveries checked, ${b.target.contacts} contacts)`,
      '0',
      b.pass.orderKept,
    );
  },
  pass: (b) => ({
    callFlowTargetDownAcceptedAll: b.pass.acceptedAll,
    callFlowTargetDownNothingDeliveredWhileDown: b.pass.nothingDeliveredWhileDown,
    callFlowTargetDownNoneDead: b.pass.noneDead,
    callFlowTargetDownAllDelivered: b.pass.allDelivered,
    callFlowTargetDownNoDuplicates: b.pass.noDuplicates,
    callFlowTargetDownOrderKept: b.pass.orderKept,
  }),
});
