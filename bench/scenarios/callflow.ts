// callflow: CallFlow with a webhook action to a local target that answers 200 {"id","url"} at once,
// callcard serving the imported contacts. POST /CallFlow under load (16 connections, distinct calls,
// every 10th request an exact repeat); then every call must be done in the outbox and the target must
// have each Idempotency-Key once. Plus one answer checked (the target's record url, a repeat answered
// the same) and the answer time of a few calls while the target answers 503.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HookStats } from '../servers/hook.js';
import { startCallcard } from '../support/callcard.js';
import { log, sleep, stop } from '../support/children.js';
import { type Context, SEED, TARGETS } from '../support/context.js';
import { HOST, httpCall } from '../support/http.js';
import { type LoadResult, runLoad } from '../support/load.js';
import { num, prng } from '../support/numbers.js';
import { type ProcStatus, procStatus } from '../support/proc.js';
import { cpu, failed, ms, perRequest } from '../support/report.js';
import {
  callBody,
  freshCalls,
  hookCall,
  type OutboxCounts,
  outboxSettled,
  type Posting,
  postCalls,
  startHook,
  WF_DELIVERY,
  WF_MAX_ATTEMPTS,
  workflowConfig,
} from '../support/workflow.js';
import { type BareLoad, bareLoad } from './bare.js';
import { type Hit, knownNumbers } from './contacts.js';
import { defineScenario } from './types.js';

/** New calls posted while the target answers 503 (the probe). */
const WF_PROBE_CALLS = 8;

export interface AnswerCheck {
  readonly statuses: number[];
  readonly id: unknown;
  readonly url: unknown;
  readonly urlIsTargetRecord: boolean;
  readonly repeatSameIdAndUrl: boolean;
  readonly newKeysAtTarget: number;
  readonly extraReceiptsAtTarget: number;
  readonly ok: boolean;
}

export interface CallFlowResult {
  readonly delivery: typeof WF_DELIVERY;
  readonly maxAttempts: number;
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly bodiesPrepared: number;
  readonly startupMs: number;
  readonly load: LoadResult;
  readonly end: ProcStatus;
  readonly requestsStarted: number;
  readonly bodiesCycled: boolean;
  readonly distinctCallsSent: number;
  readonly exactRepeatsSent: number;
  readonly outbox: OutboxCounts & { waitedMs: number };
  readonly target: HookStats;
  readonly answerCheck: AnswerCheck;
  readonly downProbe: Posting;
  /** The bare node:http server loaded with the same bodies and settings, answering a record's id and url. */
  readonly bare?: BareLoad;
  /** callcard's answers/s over the bare server's. */
  readonly ratio?: number;
  readonly pass: { noNon2xx: boolean; allDelivered: boolean; noDuplicates: boolean; answerCheck: boolean };
}

/**
 * Bodies for the healthy-target load: distinct calls (a known contact's number with its contactCrmId,
 * or an unknown number, alternately; each its own start time), every 10th an exact repeat of one of
 * the 200 calls before it (the CONNECTOR's repeated CallFlow; the recent ones may still be running).
 */
export function healthyBodies(count: number, hits: readonly Hit[], misses: readonly string[]): string[] {
  const random = prng(SEED + 7);
  const base = Date.UTC(2026, 0, 1);
  const distinct: string[] = [];
  const bodies: string[] = [];
  for (let i = 0; i < count; i++) {
    if (i % 10 === 9 && distinct.length > 0) {
      bodies.push(distinct[distinct.length - 1 - Math.floor(random() * Math.min(distinct.length, 200))]!);
      continue;
    }
    const d = distinct.length;
    const hit = d % 2 === 0 ? hits[(d / 2) % hits.length] : undefined;
    const body = callBody({
      number: hit ? hit.number : misses[((d - 1) / 2) % misses.length]!,
      contactId: hit?.id,
      at: base + d * 1000,
      tag: 'healthy',
    });
    distinct.push(body);
    bodies.push(body);
  }
  return bodies;
}

/** One new call, then the same again: the target's record in the answer, one id, one delivery. */
async function callFlowAnswerCheck(ctx: Context, misses: readonly string[]): Promise<AnswerCheck> {
  const body = callBody({ number: misses[0]!, at: Date.UTC(2027, 0, 1), tag: 'check' });
  const post = () =>
    httpCall(ctx.ports.callcard, 'POST', '/CallFlow', body, { 'X-Execution-Token': ctx.token }, 10_000);
  const parse = (answer: { body: string }): { id?: unknown; url?: unknown } => {
    try {
      return JSON.parse(answer.body) as { id?: unknown; url?: unknown };
    } catch {
      return {};
    }
  };
  const before = await hookCall(ctx, 'GET', '/_bench/stats');
  const first = await post();
  const again = await post();
  await sleep(500);
  const after = await hookCall(ctx, 'GET', '/_bench/stats');
  const a = parse(first);
  const b = parse(again);
  const check = {
    statuses: [first.status, again.status],
    id: a.id ?? null,
    url: a.url ?? null,
    urlIsTargetRecord:
      typeof a.url === 'string' && a.url.startsWith(`http://${HOST}:${ctx.ports.hook}/records/`),
    repeatSameIdAndUrl: a.id !== undefined && a.id === b.id && a.url === b.url,
    newKeysAtTarget: after.distinctKeys - before.distinctKeys,
    extraReceiptsAtTarget: after.extraReceipts - before.extraReceipts,
  };
  return {
    ...check,
    ok:
      first.status === 200 &&
      again.status === 200 &&
      check.urlIsTargetRecord &&
      check.repeatSameIdAndUrl &&
      check.newKeysAtTarget === 1 &&
      check.extraReceiptsAtTarget === 0,
  };
}

/** A few new calls while the target answers 503: how long the CONNECTOR waits for each answer. */
async function downProbe(ctx: Context, misses: readonly string[]): Promise<Posting> {
  await hookCall(ctx, 'POST', '/_bench/status/503');
  try {
    const base = Date.UTC(2027, 1, 1);
    const bodies = Array.from({ length: WF_PROBE_CALLS }, (_, i) =>
      callBody({ number: misses[(i + 1) % misses.length]!, at: base + i * 1000, tag: 'probe' }),
    );
    return await postCalls(ctx, bodies, 4);
  } finally {
    await hookCall(ctx, 'POST', '/_bench/status/200');
  }
}

/** The line above the table that says how the workflow scenarios were run. */
export function workflowNote(): string {
  const d = WF_DELIVERY;
  return (
    `workflows: CallFlow -> webhook to a local node:http target (own process, answers 200 {"id","url"} at once), ` +
    `callcard serving the imported contacts; delivery concurrency ${d.concurrency}, maxAttempts ${WF_MAX_ATTEMPTS}, ` +
    `backoffBaseMs ${d.backoffBaseMs} / backoffMaxMs ${d.backoffMaxMs} (short, so the drain starts soon after the target ` +
    'is back; defaults 5000 / 3600000)'
  );
}

export default defineScenario<CallFlowResult>({
  name: 'callflow',
  description: 'POST /CallFlow under load, webhook target answering at once: all delivered once',
  byDefault: true,
  group: 'workflows',
  needs: ['import'],
  async run(ctx) {
    const { options } = ctx;
    const { hits, misses } = knownNumbers(ctx);
    const hook = await startHook(ctx);
    let server: Awaited<ReturnType<typeof startCallcard>> | undefined;
    let result: CallFlowResult;
    const bodiesFile = join(ctx.paths.work, 'bodies-callflow.json');
    try {
      await hookCall(ctx, 'POST', '/_bench/status/200');
      await hookCall(ctx, 'POST', '/_bench/reset');
      freshCalls(ctx);
      const config = await workflowConfig(ctx, 'workflow-healthy', WF_DELIVERY.answerBudgetMs);
      const bodies = healthyBodies(options.wfBodies, hits, misses);
      await writeFile(bodiesFile, JSON.stringify(bodies));
      log('starting callcard with CallFlow -> webhook (target answering at once)');
      server = await startCallcard(ctx, { logLevel: 'warn', logTo: 'ignore', config });
      const load = await runLoad(ctx, ctx.ports.callcard, bodiesFile, 'callflow', server.child.pid, {
        path: '/CallFlow',
        connections: options.wfConnections,
        warmupSeconds: options.wfWarmup,
        durationSeconds: options.wfDuration,
      });
      const end = procStatus(server.child.pid);
      // Every request of the run, warm-up included, made or found a delivery: count them all.
      const started = load.requestsStarted;
      const distinctCallsSent = new Set(bodies.slice(0, Math.min(started, bodies.length))).size;
      const exactRepeatsSent = started - distinctCallsSent;
      log(
        `CallFlow: ${load.requestsPerSecond} answers/s, p99 ${load.latencyMs.p99} ms; ` +
          `${distinctCallsSent} distinct calls + ${exactRepeatsSent} repeats sent; waiting for the outbox`,
      );
      const outbox = await outboxSettled(ctx, config, 60_000);
      const target = await hookCall(ctx, 'GET', '/_bench/stats');
      const answerCheck = await callFlowAnswerCheck(ctx, misses);
      const probe = await downProbe(ctx, misses);
      const pass = {
        noNon2xx: load.non2xx + load.errors + load.timeouts === 0,
        // The last requests (at most one per connection) may have been cut off before callcard had them.
        allDelivered:
          outbox.done === outbox.total &&
          outbox.total <= distinctCallsSent &&
          outbox.total >= distinctCallsSent - options.wfConnections &&
          target.distinctKeys === outbox.done,
        noDuplicates: target.keysTwice === 0,
        answerCheck: answerCheck.ok,
      };
      log(
        `CallFlow: outbox ${outbox.done} done / ${outbox.total}, target ${target.distinctKeys} keys, ` +
          `${target.keysTwice} twice; pass ${JSON.stringify(pass)}`,
      );
      result = {
        delivery: { ...WF_DELIVERY },
        maxAttempts: WF_MAX_ATTEMPTS,
        connections: options.wfConnections,
        warmupSeconds: options.wfWarmup,
        durationSeconds: options.wfDuration,
        bodiesPrepared: bodies.length,
        startupMs: server.startupMs,
        load,
        end,
        requestsStarted: started,
        bodiesCycled: started > bodies.length,
        distinctCallsSent,
        exactRepeatsSent,
        outbox,
        target,
        answerCheck,
        downProbe: probe,
        pass,
      };
    } finally {
      if (server) await stop(server.child);
      await stop(hook);
      freshCalls(ctx);
    }
    const answer = JSON.stringify({ id: 'T-1', url: `http://${HOST}:${ctx.ports.hook}/records/T-1` });
    const bare = await bareLoad(ctx, answer, bodiesFile, 'bare-callflow', {
      path: '/CallFlow',
      connections: options.wfConnections,
      warmupSeconds: options.wfWarmup,
      durationSeconds: options.wfDuration,
    });
    return { ...result, bare, ratio: result.load.requestsPerSecond / bare.load.requestsPerSecond };
  },
  notes: (_a, ctx) => [
    workflowNote(),
    `  target up: answerBudgetMs ${WF_DELIVERY.answerBudgetMs}; ${ctx.options.wfConnections} connections, ` +
      `${ctx.options.wfWarmup} s warm-up + ${ctx.options.wfDuration} s, ` +
      'distinct calls (half of known contacts), every 10th request an exact repeat of a recent call',
  ],
  rows(report, outcome) {
    const title = 'CallFlow, target up';
    if (!outcome.ok) return report.row(title, failed(outcome));
    const a = outcome.result;
    report.row(
      `${title}: answers/s @ ${a.connections} conn`,
      `${num(Math.round(a.load.requestsPerSecond))} answers/s`,
      `>= ${num(TARGETS.callFlowPerSecond)}`,
      a.load.requestsPerSecond >= TARGETS.callFlowPerSecond,
    );
    if (a.bare && a.ratio !== undefined) {
      report.row(
        `${title}: bare node:http, same bodies and settings`,
        `${num(Math.round(a.bare.load.requestsPerSecond))} req/s, p99 ${ms(a.bare.load.latencyMs.p99)}`,
      );
      report.row(`${title}: ratio callcard / bare`, a.ratio.toFixed(3));
    }
    report.row(`${title}: p50 / p99`, `${ms(a.load.latencyMs.p50)} / ${ms(a.load.latencyMs.p99)}`);
    report.row(
      `${title}: non-2xx / errors / timeouts`,
      `${a.load.non2xx} / ${a.load.errors} / ${a.load.timeouts}`,
      '0',
      a.pass.noNon2xx,
    );
    report.row(
      `${title}: deliveries done / calls`,
      `${num(a.outbox.done)} done of ${num(a.outbox.total)} calls callcard took (${a.outbox.pending + a.outbox.running} open, ` +
        `${a.outbox.dead} dead); ${num(a.distinctCallsSent)} distinct calls + ${num(a.exactRepeatsSent)} exact repeats sent` +
        (a.bodiesCycled ? ' (bodies list cycled)' : ''),
      'all done',
      a.pass.allDelivered,
    );
    report.row(
      `${title}: target keys / received twice`,
      `${num(a.target.distinctKeys)} distinct Idempotency-Keys (= deliveries done), ${a.target.keysTwice} received twice ` +
        `(${a.target.extraReceipts} extra receipts)`,
      '= done, 0 twice',
      a.pass.allDelivered && a.pass.noDuplicates,
    );
    report.row(
      `${title}: server CPU/request, CPU`,
      `${perRequest(a.load)}; ${cpu(a.load)} (other: the target)`,
    );
    report.row(`${title}: server RSS end / peak`, `${a.end.vmRssMb} / ${a.end.vmHwmMb} MB`);
    const check = a.answerCheck;
    report.row(
      'CallFlow answer url, exact repeat',
      `${check.urlIsTargetRecord ? "the target's record" : `not the target's record: ${String(check.url)}`}; repeat ` +
        `${check.repeatSameIdAndUrl ? 'same id and url' : 'DIFFERENT'}, ${check.newKeysAtTarget} delivery`,
      'record, 1 delivery',
      check.ok,
    );
    const probe = a.downProbe;
    report.row(
      'CallFlow answer while the target is down',
      `p50 ${ms(probe.latencyMs.p50)}, max ${ms(probe.latencyMs.max)} (${probe.posted} calls, ${probe.concurrency} at a time, ` +
        `answerBudgetMs ${a.delivery.answerBudgetMs}); ${probe.status200} x 200`,
    );
  },
  pass: (a) => ({
    callFlowRate: a.load.requestsPerSecond >= TARGETS.callFlowPerSecond,
    callFlowTargetUpNoNon2xx: a.pass.noNon2xx,
    callFlowTargetUpAllDelivered: a.pass.allDelivered,
    callFlowTargetUpNoDuplicates: a.pass.noDuplicates,
    callFlowTargetUpAnswerCheck: a.pass.answerCheck,
  }),
});
