// bare: a bare node:http server (bench/servers/bare.ts) answering a real hit's body, loaded the same way
// as callcard: what the machine and the loader allow; callcard's figures as ratios of it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { log, start, stop } from '../support/children.js';
import { type Context, ROOT, TARGETS } from '../support/context.js';
import { assertPortFree, waitHealthy } from '../support/http.js';
import { type LoadOptions, type LoadResult, runLoad } from '../support/load.js';
import { type ProcStatus, procStatus } from '../support/proc.js';
import { cpu, failed, ms, rps } from '../support/report.js';
import { defineScenario } from './types.js';

export interface BareLoad {
  readonly bodyBytes: number;
  readonly body: string;
  readonly load: LoadResult;
  /** The bare server's memory after the load. */
  readonly end: ProcStatus;
}

export interface BareResult extends BareLoad {
  /** callcard's req/s (lookup, log warn) over the bare server's. */
  readonly ratio: number;
  /** callcard's p99 over the bare server's. */
  readonly p99Ratio: number | null;
}

/** Starts the bare server answering `body` to every POST, loads it with `bodiesFile`, stops it. */
export async function bareLoad(
  ctx: Context,
  body: string,
  bodiesFile: string,
  label: string,
  options: LoadOptions = {},
): Promise<BareLoad> {
  const bodyFile = join(ctx.paths.work, `${label}-body.json`);
  await writeFile(bodyFile, body);
  log(`starting bare node:http server (${label})`);
  const port = ctx.ports.bare;
  await assertPortFree(port);
  const child = start(
    'bare',
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'servers', 'bare.ts')],
    {
      cwd: ROOT,
      env: { ...process.env, BARE_PORT: String(port), BARE_BODY_FILE: bodyFile },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  try {
    await waitHealthy(child, port);
    const load = await runLoad(ctx, port, bodiesFile, label, child.pid, options);
    log(`${label}: ${load.requestsPerSecond} req/s, p99 ${load.latencyMs.p99} ms`);
    return { bodyBytes: Buffer.byteLength(body), body, load, end: procStatus(child.pid) };
  } finally {
    await stop(child);
  }
}

export default defineScenario<BareResult>({
  name: 'bare',
  description: 'bare node:http baseline answering a real hit, loaded the same way: the ratios',
  byDefault: true,
  needs: ['lookup'],
  async run(ctx) {
    const lookup = ctx.results.lookup!;
    const bare = await bareLoad(ctx, lookup.check.typicalHitBody ?? '[]', lookup.bodiesFile, 'bare');
    const p99 = lookup.load.latencyMs.p99;
    const bareP99 = bare.load.latencyMs.p99;
    return {
      ...bare,
      ratio: lookup.load.requestsPerSecond / bare.load.requestsPerSecond,
      p99Ratio: p99 !== null && bareP99 !== null && bareP99 > 0 ? p99 / bareP99 : null,
    };
  },
  rows(report, outcome, ctx) {
    if (!outcome.ok) return report.row('bare node:http', failed(outcome));
    const { load, bodyBytes, ratio, p99Ratio, end } = outcome.result;
    report.row('bare node:http req/s', rps(load.requestsPerSecond));
    report.row('bare p50 / p99', `${ms(load.latencyMs.p50)} / ${ms(load.latencyMs.p99)}`);
    report.row('bare answer body', `${bodyBytes} bytes`);
    report.row('bare server RSS end / peak', `${end.vmRssMb} / ${end.vmHwmMb} MB`);
    report.row(
      'ratio callcard / bare: req/s',
      ratio.toFixed(3),
      `>= ${TARGETS.ratio}`,
      ratio >= TARGETS.ratio,
    );
    report.row('ratio callcard / bare: p99', p99Ratio === null ? 'n/a' : p99Ratio.toFixed(2));
    const lookup = ctx.results.lookup;
    if (lookup?.end.vmHwmMb && end.vmHwmMb)
      report.row('ratio callcard / bare: peak RSS', (lookup.end.vmHwmMb / end.vmHwmMb).toFixed(2));
    if (!ctx.results['lookup-info']) report.row('CPU during bare run (of 200%)', cpu(load));
  },
  pass: (r) => ({ ratio: r.ratio >= TARGETS.ratio }),
});
