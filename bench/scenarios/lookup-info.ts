// lookup-info: the lookup load again with the default log level (info, one line per request, to
// /dev/null): what the request log line costs.
import { startCallcard } from '../support/callcard.js';
import { log, stop } from '../support/children.js';
import { cpu, failed, ms, perRequest, rps } from '../support/report.js';
import { type ServedLoad, servedLoad } from './lookup.js';
import { defineScenario } from './types.js';

export interface LookupInfoResult extends ServedLoad {
  /** Share of the warn run's req/s lost. */
  readonly infoLogCost: number;
  /** Server CPU per request, info minus warn. */
  readonly infoLogCpuMicros: number | null;
}

export default defineScenario<LookupInfoResult>({
  name: 'lookup-info',
  description: 'the lookup load with log level info (to /dev/null): cost of the request log line',
  byDefault: true,
  needs: ['lookup'],
  async run(ctx) {
    const lookup = ctx.results.lookup!;
    log('starting callcard (log level info, stdout to /dev/null)');
    const server = await startCallcard(ctx, { logLevel: 'info', logTo: 'ignore' });
    try {
      const served = await servedLoad(ctx, server, lookup.bodiesFile, 'callcard-info');
      log(`callcard (info): ${served.load.requestsPerSecond} req/s, p99 ${served.load.latencyMs.p99} ms`);
      const warnCpu = lookup.load.serverCpuMicrosPerRequest;
      const infoCpu = served.load.serverCpuMicrosPerRequest;
      return {
        ...served,
        infoLogCost: 1 - served.load.requestsPerSecond / lookup.load.requestsPerSecond,
        infoLogCpuMicros: warnCpu !== undefined && infoCpu !== undefined ? infoCpu - warnCpu : null,
      };
    } finally {
      await stop(server.child);
    }
  },
  rows(report, outcome, ctx) {
    if (!outcome.ok) return report.row('callcard (log info)', failed(outcome));
    const { load, infoLogCost, infoLogCpuMicros } = outcome.result;
    const lookup = ctx.results.lookup!;
    const bare = ctx.results.bare;
    report.row('callcard req/s (log info > /dev/null)', rps(load.requestsPerSecond));
    report.row('callcard p50 / p99 (log info)', `${ms(load.latencyMs.p50)} / ${ms(load.latencyMs.p99)}`);
    report.row(
      'cost of the info request log line',
      `${(infoLogCost * 100).toFixed(1)}% of req/s, ${infoLogCpuMicros ?? 'n/a'} µs CPU per request`,
    );
    report.row(
      'server CPU per request: callcard warn / info / bare',
      `${perRequest(lookup.load)} / ${perRequest(load)} / ${bare ? perRequest(bare.load) : 'n/a'}`,
    );
    report.row('CPU during callcard run (of 200%)', cpu(lookup.load));
    if (bare) report.row('CPU during bare run (of 200%)', cpu(bare.load));
    report.row('CPU during callcard info run', cpu(load));
  },
});
