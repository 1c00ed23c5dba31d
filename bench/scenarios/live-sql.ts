// live-sql: callcard whose only source is `{type: sql, mode: live, search: {column: phone_e164}}` on
// the PostgreSQL table, loaded like the embedded run (hits: numbers that are a contact's main number).
// Once with the default live cache, once with the cache effectively off, counting the index scans
// PostgreSQL did. Plus a check of what `cache: {ttlMs: 0}` does.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import {
  freshDir,
  lookupBody,
  type SourceFailures,
  startCallcard,
  writeConfig,
} from '../support/callcard.js';
import { errorMessage, log, sleep, stop } from '../support/children.js';
import { type Context, SEED } from '../support/context.js';
import { httpCall } from '../support/http.js';
import { num, round, shuffled } from '../support/numbers.js';
import * as pgBench from '../support/pg.js';
import { cpu, failed, ms, perRequest, rps } from '../support/report.js';
import { type Hit, knownNumbers } from './contacts.js';
import { type CheckResult, checkCorrectness, type ServedLoad, servedLoad } from './lookup.js';
import { defineScenario } from './types.js';

/** The table as a callcard sql source maps it; `country` is read as the row's region (its column role). */
export const TABLE_MAPPING = {
  name: pgBench.TABLE,
  id: 'id',
  firstName: 'first_name',
  lastName: 'last_name',
  company: 'company',
  phones: ['phone', 'mobile'],
  updatedAt: 'updated_at',
  custom: { email: 'email', country: 'country' },
};

interface Cache {
  readonly ttlMs: number;
  readonly missTtlMs: number;
  readonly maxEntries: number;
}

/**
 * The live cache "effectively off": 1 ms TTLs and a single entry leave a repeat no chance with
 * thousands of numbers cycling. (Whether `{ttlMs: 0}` means off in this build is what ttlZero checks.)
 */
const LIVE_CACHE_OFF: Cache = { ttlMs: 1, missTtlMs: 1, maxEntries: 1 };
const LIVE_CACHE_DEFAULT: Cache = { ttlMs: 300_000, missTtlMs: 30_000, maxEntries: 10_000 };

export interface LiveRun extends ServedLoad {
  readonly cache: Cache;
  readonly check: Omit<CheckResult, 'typicalHitBody'> & { typicalHitBodyBytes: number | null };
  readonly lookupsSent: number;
  readonly dbQueries: number | null;
  readonly dbQueriesPerLookup: number | null;
  readonly timesEachNumberAsked: number | null;
  readonly sourceFailures: SourceFailures;
  /** req/s over the embedded lookup run's (when it ran). */
  readonly ratioToEmbedded: number | null;
}

export interface TtlZero {
  readonly schemaAccepts: true;
  readonly numbers: number;
  readonly lookups: number;
  readonly pauseMs: number;
  readonly non200: number;
  readonly dbQueries: number | null;
  /** One query per number: the second pass, well after both TTLs of 0 ms, came from the cache. */
  readonly zeroMeansForever: boolean;
  /** Every lookup of both passes asked PostgreSQL: 0 turns the cache off. */
  readonly zeroMeansOff: boolean;
}

export interface LiveSqlResult {
  readonly hits: number;
  readonly hitsInTable: number;
  readonly distinctNumbers: number;
  readonly runs: { cacheDefault?: LiveRun; cacheOff?: LiveRun };
  readonly ttlZero: TtlZero | { error: string };
}

type SourceOf = (cache: Partial<Cache> | undefined) => Record<string, unknown>;

/** What `cache: {ttlMs: 0, missTtlMs: 0}` does: the same numbers twice, 2 s apart, DB queries counted. */
async function checkTtlZero(
  ctx: Context,
  client: pg.Client,
  sqlHits: readonly Hit[],
  misses: readonly string[],
  source: SourceOf,
): Promise<TtlZero> {
  const numbers = [...sqlHits.slice(0, 50).map((hit) => hit.number), ...misses.slice(0, 50)];
  freshDir(ctx.paths.dataLive);
  const config = await writeConfig(ctx, 'live-sql-ttl0', {
    sources: [source({ ttlMs: 0, missTtlMs: 0 })],
  });
  const before = await pgBench.indexScans(client);
  const server = await startCallcard(ctx, {
    logLevel: 'warn',
    logTo: 'pipe',
    config,
    dataDir: ctx.paths.dataLive,
  });
  let bad = 0;
  const pauseMs = 2000;
  try {
    for (let pass = 0; pass < 2; pass++) {
      if (pass > 0) await sleep(pauseMs);
      for (const number of numbers) {
        const { status } = await httpCall(ctx.ports.callcard, 'POST', '/Lookup', lookupBody(number), {
          'X-Execution-Token': ctx.token,
        });
        if (status !== 200) bad++;
      }
    }
  } finally {
    await stop(server.child);
  }
  await sleep(1500);
  const after = await pgBench.indexScans(client);
  const dbQueries = before !== null && after !== null ? after - before : null;
  return {
    schemaAccepts: true,
    numbers: numbers.length,
    lookups: 2 * numbers.length,
    pauseMs,
    non200: bad,
    dbQueries,
    zeroMeansForever: dbQueries === numbers.length,
    zeroMeansOff: dbQueries === 2 * numbers.length,
  };
}

export default defineScenario<LiveSqlResult>({
  name: 'live-sql',
  description: 'a live PostgreSQL source: req/s, p99, DB queries per lookup, cache on and off',
  byDefault: true,
  group: 'sources',
  needs: ['pg-table'],
  async run(ctx) {
    const client = await ctx.pg();
    const { hits, misses } = knownNumbers(ctx);
    // Live search reads phone_e164, the main number only: hits looked up by a mobile number are left out.
    const sqlHits = hits.filter((hit) => hit.by === 'phone');
    const inTable = await pgBench.countE164(
      client,
      sqlHits.map((hit) => `+${hit.number}`),
    );
    if (inTable !== sqlHits.length)
      throw new Error(`only ${inTable} of ${sqlHits.length} hit numbers are in phone_e164`);
    const order = shuffled(sqlHits.length, SEED + 2);
    const bodies: string[] = [];
    order.forEach((index, i) => {
      bodies.push(lookupBody(sqlHits[index]!.number), lookupBody(misses[i % misses.length]!));
    });
    const bodiesFile = join(ctx.paths.work, 'bodies-sql.json');
    await writeFile(bodiesFile, JSON.stringify(bodies));
    const distinctNumbers = new Set(bodies).size;
    const source: SourceOf = (cache) => ({
      type: 'sql',
      name: 'crm',
      driver: 'postgres',
      mode: 'live',
      url: pgBench.pgUrl(ctx.options.pgUrl, 'callcard-bench-live'),
      table: TABLE_MAPPING,
      search: { column: 'phone_e164' },
      ...(cache && { cache }),
    });
    const runs: LiveSqlResult['runs'] = {};
    const embedded = ctx.results.lookup?.load.requestsPerSecond;
    for (const [label, cache] of [
      ['cacheDefault', undefined],
      ['cacheOff', LIVE_CACHE_OFF],
    ] as const) {
      freshDir(ctx.paths.dataLive);
      const config = await writeConfig(ctx, `live-sql-${label}`, { sources: [source(cache)] });
      const before = await pgBench.indexScans(client);
      log(`starting callcard with a live SQL source (${label})`);
      const server = await startCallcard(ctx, {
        logLevel: 'warn',
        logTo: 'pipe',
        config,
        dataDir: ctx.paths.dataLive,
      });
      let check: CheckResult;
      let served: ServedLoad;
      try {
        check = await checkCorrectness(ctx, sqlHits, misses);
        if (check.failures > 0)
          log(`live SQL check: ${check.failures} failures, e.g.:\n  ${check.problems.join('\n  ')}`);
        served = await servedLoad(ctx, server, bodiesFile, `live-sql-${label}`);
      } finally {
        await stop(server.child);
      }
      // Backends report their index scans when they end (callcard's pool closed on stop).
      await sleep(1500);
      const after = await pgBench.indexScans(client);
      const lookups = check.checkedHits + check.checkedMisses + (served.load.requestsStarted ?? 0);
      const dbQueries = before !== null && after !== null ? after - before : null;
      const { typicalHitBody, ...checkResult } = check;
      const run: LiveRun = {
        cache: cache ?? LIVE_CACHE_DEFAULT,
        ...served,
        check: {
          ...checkResult,
          typicalHitBodyBytes: typicalHitBody ? Buffer.byteLength(typicalHitBody) : null,
        },
        lookupsSent: lookups,
        dbQueries,
        dbQueriesPerLookup: dbQueries !== null ? round(dbQueries / lookups, 3) : null,
        timesEachNumberAsked: round((served.load.requestsStarted ?? 0) / distinctNumbers, 1),
        sourceFailures: server.sourceFailures,
        ratioToEmbedded: embedded ? round(served.load.requestsPerSecond / embedded, 3) : null,
      };
      log(
        `live SQL (${label}): ${run.load.requestsPerSecond} req/s, p99 ${run.load.latencyMs.p99} ms, ` +
          `${run.dbQueriesPerLookup} DB queries per lookup, ${run.sourceFailures.total} source failures`,
      );
      runs[label] = run;
    }
    let ttlZero: LiveSqlResult['ttlZero'];
    try {
      ttlZero = await checkTtlZero(ctx, client, sqlHits, misses, source);
    } catch (error) {
      log(`ttlMs: 0 check failed: ${errorMessage(error)}`);
      ttlZero = { error: errorMessage(error) };
    }
    return { hits: sqlHits.length, hitsInTable: inTable, distinctNumbers, runs, ttlZero };
  },
  notes: (live) => [
    `live SQL: callcard with one source {type: sql, driver: postgres, mode: live, search: {column: phone_e164}}; ` +
      `${num(live.hits)} hits (main numbers only) / as many misses, same load as the embedded run; ` +
      'ratio against the embedded (log warn) req/s of this run',
  ],
  rows(report, outcome) {
    if (!outcome.ok) return report.row('live SQL source', failed(outcome));
    const live = outcome.result;
    const cacheText = (cache: Cache) =>
      `ttl ${cache.ttlMs}/${cache.missTtlMs} ms, ${cache.maxEntries} entries`;
    for (const [label, title] of [
      ['cacheOff', 'live SQL, cache off'],
      ['cacheDefault', 'live SQL, default cache'],
    ] as const) {
      const run = live.runs[label];
      if (!run) continue;
      report.row(
        `${title}: req/s (ratio to embedded)`,
        `${rps(run.load.requestsPerSecond)} (${run.ratioToEmbedded?.toFixed(3)})`,
      );
      report.row(`${title}: p50 / p99`, `${ms(run.load.latencyMs.p50)} / ${ms(run.load.latencyMs.p99)}`);
      report.row(
        `${title}: DB queries per lookup`,
        `${run.dbQueriesPerLookup ?? 'n/a'} (${num(run.dbQueries)} index scans / ` +
          `${num(run.lookupsSent)} lookups; each of ${num(live.distinctNumbers)} ` +
          `numbers asked ~${run.timesEachNumberAsked}x; ${cacheText(run.cache)})`,
      );
      report.row(
        `${title}: check, failures in load`,
        `${run.check.checkedHits} hits + ${run.check.checkedMisses} misses checked, ${run.check.failures} failures; ` +
          `${run.sourceFailures.total} source timeouts/errors, ${run.load.non2xx} non-2xx, ${run.load.errors} errors`,
        '0',
        run.check.failures === 0 && run.sourceFailures.total === 0 && run.load.non2xx + run.load.errors === 0,
      );
      report.row(
        `${title}: server CPU/request, CPU`,
        `${perRequest(run.load)}; ${cpu(run.load)} (other: PostgreSQL)`,
      );
    }
    const zero = live.ttlZero;
    if ('error' in zero) report.row('live cache {ttlMs: 0}', failed(zero));
    else {
      report.row(
        'live cache {ttlMs: 0, missTtlMs: 0}',
        `accepted; ${zero.lookups} lookups of ${zero.numbers} numbers, ${zero.pauseMs / 1000} s apart: ${zero.dbQueries} DB queries` +
          (zero.zeroMeansForever ? ' -> 0 means "cached forever", not "off"' : '') +
          (zero.zeroMeansOff ? ' -> 0 turns the cache off' : ''),
      );
    }
  },
  pass(live) {
    const runs = Object.values(live.runs);
    return {
      liveSqlCorrectness: runs.every((run) => run.check.failures === 0),
      liveSqlNoSourceFailures: runs.every(
        (run) => run.sourceFailures.total === 0 && run.load.non2xx === 0 && run.load.errors === 0,
      ),
    };
  },
});
