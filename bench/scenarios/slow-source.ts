// slow-source: a source that answers in 10 s beside the healthy embedded store, under a 500 ms lookup
// deadline: a local HTTP API that sleeps (rest source) or, when the build has no rest source, a
// PostgreSQL live source whose search runs pg_sleep(10). Sequential and concurrent lookups.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type SlowStats, startSlowServer } from '../servers/slow.js';
import { lookupBody, type SourceFailures, startCallcard, writeConfig } from '../support/callcard.js';
import { errorMessage, log, stop } from '../support/children.js';
import type { Context } from '../support/context.js';
import { assertPortFree, HOST, httpCall } from '../support/http.js';
import { quantile, round } from '../support/numbers.js';
import * as pgBench from '../support/pg.js';
import { failed, ms } from '../support/report.js';
import { type Hit, knownNumbers } from './contacts.js';
import { defineScenario } from './types.js';

const SLOW_DELAY_MS = 10_000;
const SLOW_DEADLINE_MS = 500;
const SLOW_TIMEOUT_MS = 400;
/** Latency allowed above lookup.deadlineMs (HTTP, JSON, scheduling). */
const SLOW_MARGIN_MS = 100;
const SLOW_APP = 'callcard-bench-slow';

interface Item {
  readonly number: string;
  readonly hit?: Hit;
}

export interface SlowRun {
  readonly lookups: number;
  readonly concurrency: number;
  readonly non200: number;
  readonly errors: number;
  readonly hits: number;
  readonly hitsWithHealthyContact: number;
  readonly misses: number;
  readonly missesEmpty: number;
  readonly slowContactsSeen: number;
  readonly latencyMs: { min: number | null; p50: number | null; p99: number | null; max: number | null };
  readonly wallSeconds: number;
  readonly problems: string[];
}

export interface SlowSourceResult {
  readonly variant: 'rest' | 'sql';
  readonly slowSource: string;
  readonly deadlineMs: number;
  readonly slowTimeoutMs: number;
  readonly marginMs: number;
  readonly sequential: SlowRun;
  readonly concurrent: SlowRun;
  readonly sourceFailures: SourceFailures;
  readonly slowServer?: SlowStats;
  readonly leftOverBackendsTerminated?: number | null;
  readonly pass: {
    allStatus200: boolean;
    maxBelowDeadline: boolean;
    healthyHits: boolean;
    noSlowContact: boolean;
  };
}

function restAvailable(ctx: Context): boolean {
  try {
    return readFileSync(join(ctx.paths.dist, 'sources', 'registry.js'), 'utf8').includes('createRestSource');
  } catch {
    return false;
  }
}

async function slowLookups(ctx: Context, sample: readonly Item[], concurrency: number): Promise<SlowRun> {
  const times: number[] = [];
  const problems: string[] = [];
  const counts = {
    non200: 0,
    errors: 0,
    hits: 0,
    hitsWithHealthyContact: 0,
    misses: 0,
    missesEmpty: 0,
    slowContactsSeen: 0,
  };
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < sample.length) {
      const item = sample[next++]!;
      const t0 = performance.now();
      let answer: Awaited<ReturnType<typeof httpCall>>;
      try {
        answer = await httpCall(
          ctx.ports.callcard,
          'POST',
          '/Lookup',
          lookupBody(item.number),
          { 'X-Execution-Token': ctx.token },
          5000,
        );
      } catch (error) {
        counts.errors++;
        if (problems.length < 5) problems.push(`${item.number}: ${errorMessage(error)}`);
        continue;
      }
      times.push(performance.now() - t0);
      if (answer.status !== 200) {
        counts.non200++;
        if (problems.length < 5) problems.push(`${item.number}: status ${answer.status}`);
        continue;
      }
      let contacts: { id?: unknown; name?: unknown }[] = [];
      try {
        const parsed = JSON.parse(answer.body) as unknown;
        if (Array.isArray(parsed)) contacts = parsed;
      } catch {
        // counted below as a wrong answer
      }
      if (contacts.some((c) => String(c.id).startsWith('slow-') || c.name === 'Slow Source Contact'))
        counts.slowContactsSeen++;
      if (item.hit) {
        counts.hits++;
        if (contacts[0]?.id === item.hit.id && contacts[0]?.name === item.hit.name)
          counts.hitsWithHealthyContact++;
        else if (problems.length < 5) problems.push(`hit ${item.number}: ${answer.body.slice(0, 200)}`);
      } else {
        counts.misses++;
        if (answer.body === '[]') counts.missesEmpty++;
        else if (problems.length < 5) problems.push(`miss ${item.number}: ${answer.body.slice(0, 200)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const sorted = [...times].sort((a, b) => a - b);
  return {
    lookups: sample.length,
    concurrency,
    ...counts,
    latencyMs: {
      min: round(sorted[0] ?? null),
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      max: round(sorted.at(-1) ?? null),
    },
    wallSeconds: round((performance.now() - started) / 1000),
    problems,
  };
}

export default defineScenario<SlowSourceResult>({
  name: 'slow-source',
  description: 'a source sleeping 10 s beside the embedded store, lookup deadline 500 ms',
  byDefault: true,
  group: 'sources',
  needs: ['import'],
  async run(ctx) {
    const { options } = ctx;
    const variant =
      options.slowSource === 'auto' ? (restAvailable(ctx) ? 'rest' : 'sql') : options.slowSource;
    if (variant === 'rest' && !restAvailable(ctx)) throw new Error(`${ctx.paths.dist} has no rest source`);
    const client = variant === 'sql' ? await ctx.pg() : undefined;
    const slowPort = ctx.ports.slow;
    const slowSource =
      variant === 'rest'
        ? {
            type: 'rest',
            name: 'slow',
            mode: 'live',
            timeoutMs: SLOW_TIMEOUT_MS,
            baseUrl: `http://${HOST}:${slowPort}`,
            search: { request: { url: '/contacts/search', query: { number: '{e164}' } } },
            fields: { id: 'id', name: 'name', phones: ['phone'] },
          }
        : {
            type: 'sql',
            name: 'slow',
            driver: 'postgres',
            mode: 'live',
            timeoutMs: SLOW_TIMEOUT_MS,
            url: pgBench.pgUrl(options.pgUrl, SLOW_APP),
            query: `SELECT id, first_name, last_name, phone FROM ${pgBench.TABLE}`,
            search: {
              query:
                "SELECT CAST(:e164 AS text) AS id, 'Slow Source Contact' AS name, CAST(:e164 AS text) AS phone " +
                'FROM pg_sleep(10) LIMIT :limit',
            },
          };
    const config = await writeConfig(ctx, 'slow-source', {
      lookup: { deadlineMs: SLOW_DEADLINE_MS },
      sources: [{ type: 'embedded', name: 'contacts' }, slowSource],
    });
    // Hits spread over the list (every kind of number), misses between them.
    const { hits, misses } = knownNumbers(ctx);
    const sample: Item[] = [];
    const step = Math.max(1, Math.floor(hits.length / Math.ceil(options.slowLookups / 2)));
    for (let i = 0; sample.length < options.slowLookups; i++) {
      const hit = hits[(i * step) % hits.length]!;
      sample.push({ number: hit.number, hit });
      if (sample.length < options.slowLookups) sample.push({ number: misses[i % misses.length]! });
    }
    await assertPortFree(slowPort);
    const slowServer = variant === 'rest' ? await startSlowServer(slowPort, SLOW_DELAY_MS) : null;
    let server: Awaited<ReturnType<typeof startCallcard>> | undefined;
    let sequential: SlowRun;
    let concurrent: SlowRun;
    let slowStats: SlowStats | undefined;
    let leftOver: number | null | undefined;
    try {
      log(
        `starting callcard with the embedded store and a slow ${variant} source (deadline ${SLOW_DEADLINE_MS} ms)`,
      );
      server = await startCallcard(ctx, { logLevel: 'warn', logTo: 'pipe', config, dataDir: ctx.paths.data });
      sequential = await slowLookups(ctx, sample, 1);
      concurrent = await slowLookups(ctx, sample, options.slowConcurrency);
    } finally {
      if (server) await stop(server.child);
      if (slowServer) {
        slowStats = { ...slowServer.stats };
        await slowServer.close();
      }
      if (client) leftOver = await pgBench.terminateBackends(client, SLOW_APP).catch(() => null);
    }
    const runs = [sequential, concurrent];
    const pass = {
      allStatus200: runs.every((r) => r.non200 === 0 && r.errors === 0),
      maxBelowDeadline: runs.every(
        (r) => r.latencyMs.max !== null && r.latencyMs.max < SLOW_DEADLINE_MS + SLOW_MARGIN_MS,
      ),
      healthyHits: runs.every((r) => r.hitsWithHealthyContact === r.hits && r.missesEmpty === r.misses),
      noSlowContact: runs.every((r) => r.slowContactsSeen === 0),
    };
    log(
      `slow source: max ${sequential.latencyMs.max} ms sequential, ${concurrent.latencyMs.max} ms ` +
        `with ${options.slowConcurrency} concurrent; pass ${JSON.stringify(pass)}`,
    );
    return {
      variant,
      slowSource:
        variant === 'rest'
          ? 'rest source, local HTTP API sleeping 10 s'
          : 'sql source, search query FROM pg_sleep(10)',
      deadlineMs: SLOW_DEADLINE_MS,
      slowTimeoutMs: SLOW_TIMEOUT_MS,
      marginMs: SLOW_MARGIN_MS,
      sequential,
      concurrent,
      sourceFailures: server.sourceFailures,
      ...(slowStats && { slowServer: slowStats }),
      ...(leftOver !== undefined && { leftOverBackendsTerminated: leftOver }),
      pass,
    };
  },
  notes: (slow) => [
    `slow source: ${slow.slowSource}, timeoutMs ${slow.slowTimeoutMs}, beside the embedded store; lookup.deadlineMs ${slow.deadlineMs}`,
  ],
  rows(report, outcome) {
    if (!outcome.ok) return report.row('slow source beside embedded', failed(outcome));
    const slow = outcome.result;
    const limit = slow.deadlineMs + slow.marginMs;
    for (const run of [slow.sequential, slow.concurrent]) {
      const title = `slow ${slow.variant} source + embedded, ${run.concurrency === 1 ? 'sequential' : `${run.concurrency} concurrent`}`;
      report.row(
        `${title}: status`,
        `${run.lookups} lookups: ${run.lookups - run.non200 - run.errors} x 200, ${run.non200} other, ${run.errors} errors`,
        'all 200',
        run.non200 + run.errors === 0,
      );
      report.row(
        `${title}: latency min/p50/max`,
        `${ms(run.latencyMs.min)} / ${ms(run.latencyMs.p50)} / ${ms(run.latencyMs.max)}`,
        `max < ${limit} ms`,
        run.latencyMs.max !== null && run.latencyMs.max < limit,
      );
      report.row(
        `${title}: healthy answers`,
        `${run.hitsWithHealthyContact}/${run.hits} hits with the embedded contact, ${run.missesEmpty}/${run.misses} misses [], ` +
          `${run.slowContactsSeen} slow cards`,
        'all',
        run.hitsWithHealthyContact === run.hits &&
          run.missesEmpty === run.misses &&
          run.slowContactsSeen === 0,
      );
    }
    if (slow.slowServer) {
      report.row(
        'slow source: requests it got',
        `${slow.slowServer.requests} (${slow.slowServer.closedBeforeAnswer} cut off by callcard, ${slow.slowServer.answered} answered)`,
      );
    }
  },
  pass: (slow) => ({
    slowSourceAllStatus200: slow.pass.allStatus200,
    slowSourceWithinDeadline: slow.pass.maxBelowDeadline,
    slowSourceHealthyHits: slow.pass.healthyHits && slow.pass.noSlowContact,
  }),
});
