// lookup-pg, lookup-pg3: callcard on the PostgreSQL store (import-pg's schema), one instance, then three
// on the same schema with the loader's connections shared out among them; the same bodies, settings
// and correctness check as the embedded lookup, which runs before them in the same run. Besides
// callcard's own CPU, that of the PostgreSQL backends serving its connections is sampled: on this
// store a lookup's work is shared between the two.
import { log } from '../support/children.js';
import { TARGETS } from '../support/context.js';
import { type LoadResult, runLoad } from '../support/load.js';
import { startInstances, stopAll, storeBackends } from '../support/pg-store.js';
import { type ProcStatus, procStatus } from '../support/proc.js';
import { cpu, failed, ms, rps } from '../support/report.js';
import { knownNumbers } from './contacts.js';
import { type CheckResult, checkCorrectness } from './lookup.js';
import { defineScenario, type Scenario } from './types.js';

export interface LookupPgResult {
  readonly instances: number;
  readonly pool: number;
  readonly startupMs: number[];
  readonly check: CheckResult;
  readonly load: LoadResult;
  readonly end: ProcStatus[];
  /** req/s over the embedded lookup's, and over the bare server's, of the same run. */
  readonly ratioToEmbedded: number;
  readonly ratioToBare: number | null;
}

function lookupPg(name: 'lookup-pg' | 'lookup-pg3', instances: number): Scenario<LookupPgResult> {
  const title = instances === 1 ? 'PostgreSQL store, 1 instance' : `PostgreSQL store, ${instances} instances`;
  return defineScenario<LookupPgResult>({
    name,
    description:
      instances === 1
        ? 'lookups on the PostgreSQL store, one instance (ratios to embedded and bare)'
        : `lookups on the PostgreSQL store, ${instances} instances on one schema, round robin`,
    byDefault: true,
    needs: ['import-pg', 'lookup', 'bare'],
    async run(ctx) {
      const lookup = ctx.results.lookup!;
      const imported = ctx.results['import-pg']!;
      const { hits, misses } = knownNumbers(ctx);
      log(`starting ${instances} callcard on the PostgreSQL store (pool ${imported.pool} each)`);
      const servers = await startInstances(ctx, instances, imported.config);
      try {
        const ports = ctx.ports.instances.slice(0, instances);
        // Each instance answers correctly (the first gets the whole sample, the others a part of it).
        const checks: CheckResult[] = [];
        for (const [i, port] of ports.entries()) {
          const part = i === 0 ? 1 : 10;
          checks.push(
            await checkCorrectness(
              ctx,
              hits.filter((_, j) => j % part === 0),
              misses.filter((_, j) => j % part === 0),
              port,
            ),
          );
        }
        const check = checks[0]!;
        const failures = checks.reduce((n, c) => n + c.failures, 0);
        if (failures > 0)
          log(
            `${name} check: ${failures} failures, e.g.:\n  ${checks.flatMap((c) => c.problems).join('\n  ')}`,
          );
        const load = await runLoad(
          ctx,
          ports,
          lookup.bodiesFile,
          name,
          servers.map((server) => server.child.pid),
          { databasePids: () => storeBackends(ctx) },
        );
        log(
          `${name}: ${load.requestsPerSecond} req/s, p99 ${load.latencyMs.p99} ms, ` +
            `CPU/request callcard ${load.serverCpuMicrosPerRequest} µs + PostgreSQL ${load.databaseCpuMicrosPerRequest} µs`,
        );
        const bare = ctx.results.bare;
        return {
          instances,
          pool: imported.pool,
          startupMs: servers.map((server) => server.startupMs),
          check: { ...check, failures, problems: checks.flatMap((c) => c.problems).slice(0, 10) },
          load,
          end: servers.map((server) => procStatus(server.child.pid)),
          ratioToEmbedded: load.requestsPerSecond / lookup.load.requestsPerSecond,
          ratioToBare: bare ? load.requestsPerSecond / bare.load.requestsPerSecond : null,
        };
      } finally {
        await stopAll(servers);
      }
    },
    notes: (r) =>
      instances === 1
        ? [
            `PostgreSQL store: import-pg's schema on the local server (shares the 2 cores), store.maxConnections ${r.pool} per instance; ` +
              'CPU/request: callcard + the PostgreSQL backends of its connections; no read cache (every lookup a statement)',
          ]
        : [],
    rows(report, outcome, ctx) {
      if (!outcome.ok) return report.row(`lookups, ${title}`, failed(outcome));
      const r = outcome.result;
      const embedded = ctx.results.lookup;
      report.row(
        `${title}: correctness check`,
        `${r.check.checkedHits} hits + ${r.check.checkedMisses} misses (first instance), ${r.check.failures} failures`,
        '0 failures',
        r.check.failures === 0,
      );
      report.row(`${title}: req/s`, rps(r.load.requestsPerSecond));
      report.row(
        `${title}: ratio to embedded req/s`,
        r.ratioToEmbedded.toFixed(3),
        `>= ${TARGETS.ratio}`,
        r.ratioToEmbedded >= TARGETS.ratio,
      );
      report.row(`${title}: ratio to bare req/s`, r.ratioToBare === null ? 'n/a' : r.ratioToBare.toFixed(3));
      report.row(
        `${title}: p50 / p99 @ ${ctx.options.connections} conn`,
        `${ms(r.load.latencyMs.p50)} / ${ms(r.load.latencyMs.p99)}`,
        `p99 < ${TARGETS.p99Ms} ms`,
        (r.load.latencyMs.p99 ?? Number.POSITIVE_INFINITY) < TARGETS.p99Ms,
      );
      report.row(
        `${title}: non-2xx / errors / timeouts`,
        `${r.load.non2xx} / ${r.load.errors} / ${r.load.timeouts}`,
        '0',
        r.load.non2xx + r.load.errors + r.load.timeouts === 0,
      );
      const own = r.load.serverCpuMicrosPerRequest;
      const db = r.load.databaseCpuMicrosPerRequest;
      report.row(
        `${title}: CPU/request callcard + PostgreSQL`,
        `${own ?? 'n/a'} + ${db ?? 'n/a'} µs (${r.load.databaseBackends ?? 0} backends)` +
          (embedded?.load.serverCpuMicrosPerRequest
            ? `; embedded ${embedded.load.serverCpuMicrosPerRequest} µs`
            : ''),
      );
      report.row(
        `${title}: CPU (of 200%)`,
        `${cpu(r.load)}, PostgreSQL ${r.load.cpuPercent?.database ?? 'n/a'}%`,
      );
      report.row(
        `${title}: RSS end / peak`,
        r.end.map((end) => `${end.vmRssMb} / ${end.vmHwmMb} MB`).join(', '),
      );
    },
    pass: (r) => ({
      [`${name}Ratio`]: r.ratioToEmbedded >= TARGETS.ratio,
      [`${name}P99`]: (r.load.latencyMs.p99 ?? Number.POSITIVE_INFINITY) < TARGETS.p99Ms,
      [`${name}Correctness`]: r.check.failures === 0,
      [`${name}NoNon2xx`]: r.load.non2xx + r.load.errors + r.load.timeouts === 0,
    }),
  });
}

export const lookupPg1 = lookupPg('lookup-pg', 1);
export const lookupPg3 = lookupPg('lookup-pg3', 3);
