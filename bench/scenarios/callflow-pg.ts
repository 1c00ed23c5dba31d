// callflow-pg, callflow-pg3: the callflow scenario's load (CallFlow with a webhook action to a target
// that answers at once) on the PostgreSQL store (import-pg's schema, journal and outbox emptied first),
// one instance, then three on the same schema with the loader's connections shared out among them.
// Every call must then be done in the outbox once and the target must have each Idempotency-Key once:
// a repeat given to another instance than its first is still the same call. Ratios to the embedded
// callflow and its bare baseline of the same run.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HookStats } from '../servers/hook.js';
import { log, stop } from '../support/children.js';
import { TARGETS } from '../support/context.js';
import { HOST } from '../support/http.js';
import { type LoadResult, runLoad } from '../support/load.js';
import { num } from '../support/numbers.js';
import { freshPgCalls, pgStoreConfig, startInstances, stopAll, storeBackends } from '../support/pg-store.js';
import { cpu, failed, ms } from '../support/report.js';
import {
  hookCall,
  type OutboxCounts,
  outboxSettled,
  startHook,
  WF_DELIVERY,
  WF_MAX_ATTEMPTS,
} from '../support/workflow.js';
import { healthyBodies } from './callflow.js';
import { knownNumbers } from './contacts.js';
import { defineScenario, type Scenario } from './types.js';

export interface CallFlowPgResult {
  readonly instances: number;
  readonly connections: number;
  readonly load: LoadResult;
  readonly distinctCallsSent: number;
  readonly exactRepeatsSent: number;
  readonly outbox: OutboxCounts & { waitedMs: number };
  readonly target: HookStats;
  readonly ratioToEmbedded: number | null;
  readonly ratioToBare: number | null;
  readonly pass: { noNon2xx: boolean; allDelivered: boolean; noDuplicates: boolean };
}

function callFlowPg(name: 'callflow-pg' | 'callflow-pg3', instances: number): Scenario<CallFlowPgResult> {
  const title = `CallFlow, PostgreSQL store, ${instances} instance${instances === 1 ? '' : 's'}`;
  return defineScenario<CallFlowPgResult>({
    name,
    description:
      instances === 1
        ? 'POST /CallFlow on the PostgreSQL store, one instance: all delivered once'
        : `POST /CallFlow on the PostgreSQL store, ${instances} instances round robin: all delivered once`,
    byDefault: true,
    group: 'workflows',
    needs: ['import-pg', 'callflow'],
    async run(ctx) {
      const { options } = ctx;
      const { hits, misses } = knownNumbers(ctx);
      const embedded = ctx.results.callflow!;
      const hook = await startHook(ctx);
      try {
        await hookCall(ctx, 'POST', '/_bench/status/200');
        await hookCall(ctx, 'POST', '/_bench/reset');
        await freshPgCalls(ctx);
        const config = await pgStoreConfig(ctx, `workflow-${name}`, {
          workflows: {
            CallFlow: {
              actions: [
                {
                  type: 'webhook',
                  url: `http://${HOST}:${ctx.ports.hook}/hook`,
                  response: { id: 'id', url: 'url' },
                  maxAttempts: WF_MAX_ATTEMPTS,
                },
              ],
            },
          },
          delivery: { ...WF_DELIVERY },
        });
        const bodies = healthyBodies(options.wfBodies, hits, misses);
        const bodiesFile = join(ctx.paths.work, `bodies-${name}.json`);
        await writeFile(bodiesFile, JSON.stringify(bodies));
        log(`starting ${instances} callcard on the PostgreSQL store with CallFlow -> webhook`);
        const servers = await startInstances(ctx, instances, config);
        let load: LoadResult;
        try {
          load = await runLoad(
            ctx,
            ctx.ports.instances.slice(0, instances),
            bodiesFile,
            name,
            servers.map((server) => server.child.pid),
            {
              path: '/CallFlow',
              connections: options.wfConnections,
              warmupSeconds: options.wfWarmup,
              durationSeconds: options.wfDuration,
              databasePids: () => storeBackends(ctx),
            },
          );
          const started = load.requestsStarted;
          const distinctCallsSent = new Set(bodies.slice(0, Math.min(started, bodies.length))).size;
          log(
            `${name}: ${load.requestsPerSecond} answers/s, p99 ${load.latencyMs.p99} ms; ` +
              `${distinctCallsSent} distinct calls; waiting for the outbox`,
          );
          // The instances deliver: they stay up until the outbox has settled.
          const outbox = await outboxSettled(ctx, config, 60_000);
          const target = await hookCall(ctx, 'GET', '/_bench/stats');
          const pass = {
            noNon2xx: load.non2xx + load.errors + load.timeouts === 0,
            allDelivered:
              outbox.done === outbox.total &&
              outbox.total <= distinctCallsSent &&
              outbox.total >= distinctCallsSent - options.wfConnections &&
              target.distinctKeys === outbox.done,
            noDuplicates: target.keysTwice === 0,
          };
          log(
            `${name}: outbox ${outbox.done} done / ${outbox.total}, target ${target.distinctKeys} keys, ` +
              `${target.keysTwice} twice; pass ${JSON.stringify(pass)}`,
          );
          return {
            instances,
            connections: options.wfConnections,
            load,
            distinctCallsSent,
            exactRepeatsSent: started - distinctCallsSent,
            outbox,
            target,
            ratioToEmbedded: load.requestsPerSecond / embedded.load.requestsPerSecond,
            ratioToBare: embedded.bare ? load.requestsPerSecond / embedded.bare.load.requestsPerSecond : null,
            pass,
          };
        } finally {
          await stopAll(servers);
        }
      } finally {
        await stop(hook);
      }
    },
    rows(report, outcome) {
      if (!outcome.ok) return report.row(title, failed(outcome));
      const a = outcome.result;
      report.row(
        `${title}: answers/s @ ${a.connections} conn`,
        `${num(Math.round(a.load.requestsPerSecond))} answers/s`,
        `>= ${num(TARGETS.callFlowPerSecond)}`,
        a.load.requestsPerSecond >= TARGETS.callFlowPerSecond,
      );
      report.row(
        `${title}: ratio to embedded / to bare`,
        `${a.ratioToEmbedded?.toFixed(3) ?? 'n/a'} / ${a.ratioToBare?.toFixed(3) ?? 'n/a'}`,
      );
      report.row(`${title}: p50 / p99`, `${ms(a.load.latencyMs.p50)} / ${ms(a.load.latencyMs.p99)}`);
      report.row(
        `${title}: non-2xx / errors / timeouts`,
        `${a.load.non2xx} / ${a.load.errors} / ${a.load.timeouts}`,
        '0',
        a.pass.noNon2xx,
      );
      report.row(
        `${title}: deliveries done / target keys`,
        `${num(a.outbox.done)} done of ${num(a.outbox.total)} calls (${a.outbox.pending + a.outbox.running} open, ` +
          `${a.outbox.dead} dead); ${num(a.target.distinctKeys)} keys, ${a.target.keysTwice} received twice`,
        'all done, 0 twice',
        a.pass.allDelivered && a.pass.noDuplicates,
      );
      report.row(
        `${title}: CPU/request callcard + PostgreSQL`,
        `${a.load.serverCpuMicrosPerRequest ?? 'n/a'} + ${a.load.databaseCpuMicrosPerRequest ?? 'n/a'} µs; ` +
          `${cpu(a.load)}, PostgreSQL ${a.load.cpuPercent?.database ?? 'n/a'}%`,
      );
    },
    pass: (a) => ({
      [`${name}NoNon2xx`]: a.pass.noNon2xx,
      [`${name}AllDelivered`]: a.pass.allDelivered,
      [`${name}NoDuplicates`]: a.pass.noDuplicates,
    }),
  });
}

export const callFlowPg1 = callFlowPg('callflow-pg', 1);
export const callFlowPg3 = callFlowPg('callflow-pg3', 3);
