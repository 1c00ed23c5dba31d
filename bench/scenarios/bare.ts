// bare: a bare node:http server (bench/servers/bare.ts) answering a real hit's body, loaded the same way
// as callcard: what the machine and the loader allow; callcard's req/s as a ratio of it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { log, start, stop } from '../support/children.js';
import { ROOT, TARGETS } from '../support/context.js';
import { assertPortFree, waitHealthy } from '../support/http.js';
import { type LoadResult, runLoad } from '../support/load.js';
import { cpu, failed, ms, rps } from '../support/report.js';
import { defineScenario } from './types.js';

export interface BareResult {
  readonly bodyBytes: number;
  readonly body: string;
  readonly load: LoadResult;
  /** callcard's req/s (lookup, log warn) over the bare server's. */
  readonly ratio: number;
}

export default defineScenario<BareResult>({
  name: 'bare',
  description: 'bare node:http baseline answering a real hit, loaded the same way: the ratio',
  byDefault: true,
  needs: ['lookup'],
  async run(ctx) {
    const lookup = ctx.results.lookup!;
    const body = lookup.check.typicalHitBody ?? '[]';
    const bodyFile = join(ctx.paths.work, 'bare-body.json');
    await writeFile(bodyFile, body);
    log('starting bare node:http server');
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
      const load = await runLoad(ctx, port, lookup.bodiesFile, 'bare', child.pid);
      log(`bare: ${load.requestsPerSecond} req/s, p99 ${load.latencyMs.p99} ms`);
      return {
        bodyBytes: Buffer.byteLength(body),
        body,
        load,
        ratio: lookup.load.requestsPerSecond / load.requestsPerSecond,
      };
    } finally {
      await stop(child);
    }
  },
  rows(report, outcome, ctx) {
    if (!outcome.ok) return report.row('bare node:http', failed(outcome));
    const { load, bodyBytes, ratio } = outcome.result;
    report.row('bare node:http req/s', rps(load.requestsPerSecond));
    report.row('bare p50 / p99', `${ms(load.latencyMs.p50)} / ${ms(load.latencyMs.p99)}`);
    report.row('bare answer body', `${bodyBytes} bytes`);
    report.row('ratio callcard / bare', ratio.toFixed(3), `>= ${TARGETS.ratio}`, ratio >= TARGETS.ratio);
    if (!ctx.results['lookup-info']) report.row('CPU during bare run (of 200%)', cpu(load));
  },
  pass: (r) => ({ ratio: r.ratio >= TARGETS.ratio }),
});
