// lookup: callcard serving the imported contacts (log level warn). A sample of hits and misses checked
// one by one, unloaded; then POST /Lookup loaded from a separate process (50% hits / 50% misses).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lookupBody, type Server, startCallcard } from '../support/callcard.js';
import { log, stop } from '../support/children.js';
import { type Context, SEED, TARGETS } from '../support/context.js';
import { httpCall } from '../support/http.js';
import { type LoadResult, runLoad } from '../support/load.js';
import { median, shuffled } from '../support/numbers.js';
import { type ProcStatus, procStatus } from '../support/proc.js';
import { cpu, failed, ms, rps } from '../support/report.js';
import { type Hit, knownNumbers } from './contacts.js';
import { defineScenario } from './types.js';

/** Hits and misses checked one by one, at most, before any load. */
const CHECK_SAMPLE = 500;
/** The check stops with what it has after this long. */
export const CHECK_BUDGET_MS = 60_000;

export interface CheckResult {
  readonly checkedHits: number;
  readonly checkedMisses: number;
  readonly stoppedByTimeBudget: boolean;
  readonly failures: number;
  readonly problems: string[];
  readonly unloadedMedianMs: { hit: number | null; miss: number | null };
  /** A typical correct hit answer (the bare server answers it). */
  readonly typicalHitBody: string | null;
}

export interface ServedLoad {
  readonly startupMs: number;
  readonly idle: ProcStatus;
  readonly end: ProcStatus;
  readonly load: LoadResult;
}

export interface LookupResult extends ServedLoad {
  readonly check: CheckResult;
  readonly bodiesFile: string;
}

/** Checks hits and misses one by one, unloaded: each hit answers its contact, each miss []. */
export async function checkCorrectness(
  ctx: Context,
  hits: readonly Hit[],
  misses: readonly string[],
  port: number = ctx.ports.callcard,
): Promise<CheckResult> {
  const lookup = (number: string) =>
    httpCall(port, 'POST', '/Lookup', lookupBody(number), { 'X-Execution-Token': ctx.token }, 30_000);
  const problems: string[] = [];
  const first = hits[0];
  if (first) {
    const unauthorized = await httpCall(port, 'POST', '/Lookup', lookupBody(first.number));
    if (unauthorized.status !== 401) problems.push(`no token: status ${unauthorized.status}, expected 401`);
  }
  // Spread over the list: phone and mobile numbers, every country and format.
  const step = Math.max(1, Math.floor(hits.length / CHECK_SAMPLE));
  const sampleHits = hits.filter((_, i) => i % step === 0).slice(0, CHECK_SAMPLE);
  const sampleMisses = misses.filter((_, i) => i % step === 0).slice(0, CHECK_SAMPLE);
  const bodies: string[] = [];
  const hitMs: number[] = [];
  const missMs: number[] = [];
  const started = performance.now();
  let budgetHit = false;
  for (let i = 0; i < Math.max(sampleHits.length, sampleMisses.length); i++) {
    if (performance.now() - started > CHECK_BUDGET_MS) {
      budgetHit = true;
      break;
    }
    const hit = sampleHits[i];
    if (hit) {
      const t0 = performance.now();
      const { status, body } = await lookup(hit.number);
      hitMs.push(performance.now() - t0);
      let contacts: unknown;
      try {
        contacts = JSON.parse(body);
      } catch {
        contacts = undefined;
      }
      const cards = Array.isArray(contacts) ? (contacts as { id?: unknown; name?: unknown }[]) : undefined;
      if (status !== 200 || !cards) {
        problems.push(`hit ${hit.number}: status ${status}, body ${body.slice(0, 200)}`);
      } else if (cards.length !== 1 || cards[0]?.id !== hit.id || cards[0]?.name !== hit.name) {
        problems.push(
          `hit ${hit.number} (written "${hit.written}"): expected ${hit.id} ${hit.name}, got ${body.slice(0, 300)}`,
        );
      } else {
        bodies.push(body);
      }
    }
    const miss = sampleMisses[i];
    if (miss) {
      const t0 = performance.now();
      const { status, body } = await lookup(miss);
      missMs.push(performance.now() - t0);
      if (status !== 200 || body !== '[]')
        problems.push(`miss ${miss}: status ${status}, body ${body.slice(0, 200)}`);
    }
  }
  bodies.sort((a, b) => a.length - b.length);
  return {
    checkedHits: hitMs.length,
    checkedMisses: missMs.length,
    stoppedByTimeBudget: budgetHit,
    failures: problems.length,
    problems: problems.slice(0, 10),
    unloadedMedianMs: { hit: median(hitMs), miss: median(missMs) },
    typicalHitBody: bodies[Math.floor(bodies.length / 2)] ?? null,
  };
}

/** Loads a running server with the lookup bodies; the figures of one served run. */
export async function servedLoad(
  ctx: Context,
  server: Server,
  bodiesFile: string,
  label: string,
): Promise<ServedLoad> {
  const load = await runLoad(ctx, ctx.ports.callcard, bodiesFile, label, server.child.pid);
  return { startupMs: server.startupMs, idle: server.idle, end: procStatus(server.child.pid), load };
}

export default defineScenario<LookupResult>({
  name: 'lookup',
  description: 'embedded lookups under load (log warn), after a correctness check',
  byDefault: true,
  needs: ['import'],
  async run(ctx) {
    const { hits, misses } = knownNumbers(ctx);
    // Request bodies: hit, miss, hit, miss…, hits in a shuffled order.
    const order = shuffled(hits.length, SEED + 1);
    const bodies: string[] = [];
    order.forEach((index, i) => {
      bodies.push(lookupBody(hits[index]!.number), lookupBody(misses[i % misses.length]!));
    });
    const bodiesFile = join(ctx.paths.work, 'bodies.json');
    await writeFile(bodiesFile, JSON.stringify(bodies));

    log('starting callcard (log level warn)');
    const server = await startCallcard(ctx, { logLevel: 'warn', logTo: 'ignore' });
    try {
      log(`callcard up in ${server.startupMs} ms, RSS ${server.idle.vmRssMb} MB; checking answers`);
      const check = await checkCorrectness(ctx, hits, misses);
      if (check.failures > 0)
        log(`correctness check: ${check.failures} failures, e.g.:\n  ${check.problems.join('\n  ')}`);
      if (!check.typicalHitBody) throw new Error('no hit answered correctly: nothing to benchmark');
      const served = await servedLoad(ctx, server, bodiesFile, 'callcard-warn');
      log(
        `callcard: ${served.load.requestsPerSecond} req/s, p99 ${served.load.latencyMs.p99} ms, RSS ${served.end.vmRssMb} MB`,
      );
      return { ...served, check, bodiesFile };
    } finally {
      await stop(server.child);
    }
  },
  notes: (_r, ctx) => [
    `load: POST /Lookup, 50% hits / 50% misses, ${ctx.options.connections} connections, ${ctx.options.warmup} s warm-up + ${ctx.options.duration} s, loader in its own process (shares the 2 cores with the server)`,
  ],
  rows(report, outcome, ctx) {
    if (!outcome.ok) return report.row('embedded lookups', failed(outcome));
    const { check, load, end, idle } = outcome.result;
    report.row(
      'correctness check (sequential)',
      `${check.checkedHits} hits + ${check.checkedMisses} misses, ${check.failures} failures` +
        (check.stoppedByTimeBudget ? ` (stopped at the ${CHECK_BUDGET_MS / 1000} s budget)` : ''),
      '0 failures',
      check.failures === 0,
    );
    report.row(
      'unloaded latency, median',
      `hit ${ms(check.unloadedMedianMs.hit)}, miss ${ms(check.unloadedMedianMs.miss)}`,
    );
    report.row('callcard req/s (log warn)', rps(load.requestsPerSecond));
    report.row('callcard p50', ms(load.latencyMs.p50));
    report.row(
      `callcard p99 @ ${ctx.options.connections} conn`,
      ms(load.latencyMs.p99),
      `< ${TARGETS.p99Ms} ms`,
      (load.latencyMs.p99 ?? Number.POSITIVE_INFINITY) < TARGETS.p99Ms,
    );
    report.row(
      'callcard non-2xx / errors / timeouts',
      `${load.non2xx} / ${load.errors} / ${load.timeouts}`,
      '0',
      load.non2xx + load.errors + load.timeouts === 0,
    );
    report.row('server RSS end (VmRSS)', `${end.vmRssMb} MB (idle after start ${idle.vmRssMb} MB)`);
    report.row(
      'server peak RSS (VmHWM)',
      `${end.vmHwmMb} MB`,
      `< ${TARGETS.serverRssMb} MB`,
      end.vmHwmMb !== null && end.vmHwmMb < TARGETS.serverRssMb,
    );
    // With lookup-info, its rows compare the CPU of all three runs.
    if (!ctx.results['lookup-info']) report.row('CPU during callcard run (of 200%)', cpu(load));
  },
  pass: (r) => ({
    p99: (r.load.latencyMs.p99 ?? Number.POSITIVE_INFINITY) < TARGETS.p99Ms,
    serverRss: r.end.vmHwmMb !== null && r.end.vmHwmMb < TARGETS.serverRssMb,
    correctness: r.check.failures === 0,
    no_non2xx: r.load.non2xx === 0 && r.load.errors === 0,
  }),
});
