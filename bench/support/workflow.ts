// What the workflow scenarios share: the webhook target (bench/servers/hook.ts), callcard's CallFlow
// config, the outbox as `callcard outbox` shows it, CallFlow bodies and a poster.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { join } from 'node:path';
import type { HookStats } from '../servers/hook.js';
import { cliEnv, runCli, writeConfig } from './callcard.js';
import { type Child, errorMessage, sleep, start } from './children.js';
import { type Context, ROOT } from './context.js';
import { assertPortFree, HOST, httpCall, waitHealthy } from './http.js';
import { quantile, round } from './numbers.js';

/** Short retries, so that the drain starts soon after the target is back (defaults: 5 s and 1 h). */
export const WF_DELIVERY = { answerBudgetMs: 1500, backoffBaseMs: 1000, backoffMaxMs: 5000, concurrency: 4 };
/** Enough attempts that nothing goes dead while the target is down (the default is 12). */
export const WF_MAX_ATTEMPTS = 1000;

/** The webhook target's control and statistics. */
export async function hookCall(ctx: Context, method: string, path: string): Promise<HookStats> {
  const { status, body } = await httpCall(ctx.ports.hook, method, path, undefined, {}, 5000);
  if (status !== 200) throw new Error(`webhook target ${method} ${path}: status ${status}`);
  return JSON.parse(body) as HookStats;
}

export async function startHook(ctx: Context): Promise<Child> {
  const port = ctx.ports.hook;
  await assertPortFree(port);
  const child = start(
    'webhook target',
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'servers', 'hook.ts')],
    { cwd: ROOT, env: { ...process.env, HOOK_PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await waitHealthy(child, port);
  return child;
}

/** An empty call journal and outbox in the served data dir (callcard not running). */
export function freshCalls(ctx: Context): void {
  const dir = ctx.paths.data;
  for (const file of existsSync(dir) ? readdirSync(dir) : []) {
    if (file.startsWith('calls.db')) rmSync(join(dir, file), { force: true });
  }
}

/** CallFlow with one webhook action to the target. */
export function workflowConfig(ctx: Context, name: string, answerBudgetMs: number): Promise<string> {
  return writeConfig(ctx, name, {
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
    delivery: { ...WF_DELIVERY, answerBudgetMs },
  });
}

export interface OutboxCounts {
  readonly pending: number;
  readonly running: number;
  readonly done: number;
  readonly dead: number;
  readonly total: number;
  readonly deadSample?: string[];
}

/** `callcard outbox --config ...`: the count of deliveries per status (its last line). */
export async function outboxCounts(ctx: Context, config: string): Promise<OutboxCounts> {
  const run = await runCli(
    ctx,
    'outbox',
    ['outbox', '--status', 'dead', '--limit', '3', '--config', config],
    cliEnv(ctx.paths.data),
    60_000,
  );
  const m = /(\d+) pending, (\d+) running, (\d+) done, (\d+) dead/.exec(run.stdout);
  if (run.code !== 0 || !m)
    throw new Error(
      `callcard outbox failed (${run.code}): ${run.stdout.slice(-1000)}${run.stderr.slice(-2000)}`,
    );
  const [pending, running, done, dead] = m.slice(1).map(Number) as [number, number, number, number];
  return {
    pending,
    running,
    done,
    dead,
    total: pending + running + done + dead,
    ...(dead > 0 && { deadSample: run.stdout.trim().split('\n').slice(0, 5) }),
  };
}

/** Asks `callcard outbox` every second until nothing is pending or running, at most limitMs. */
export async function outboxSettled(
  ctx: Context,
  config: string,
  limitMs: number,
): Promise<OutboxCounts & { waitedMs: number }> {
  const started = performance.now();
  for (;;) {
    const counts = await outboxCounts(ctx, config);
    const waitedMs = Math.round(performance.now() - started);
    if (counts.pending + counts.running === 0 || waitedMs > limitMs) return { ...counts, waitedMs };
    await sleep(1000);
  }
}

const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** A CallFlow request as the CONNECTOR sends it; `benchSeq` is a field callcard passes on as it came. */
export function callBody(call: {
  number: string;
  contactId?: string | undefined;
  at: number;
  seq?: number;
  tag: string;
}): string {
  return JSON.stringify({
    inputs: {
      direction: 'incoming',
      originatorNumber: call.number,
      destinationNumber: '41445556677',
      userCrmId: 'u1',
      ...(call.contactId && { contactCrmId: call.contactId }),
      startedTime: isoSeconds(call.at),
      answeredTime: isoSeconds(call.at + 5000),
      endedTime: isoSeconds(call.at + 65_000),
      ...(call.seq !== undefined && { benchSeq: call.seq }),
      benchRun: call.tag,
    },
  });
}

export interface Posting {
  readonly posted: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly postsPerSecond: number;
  readonly status200: number;
  readonly byStatus: Record<string, number>;
  readonly errors: number;
  readonly problems: string[];
  readonly latencyMs: { p50: number | null; p99: number | null; max: number | null };
}

/** POSTs every body to /CallFlow, `concurrency` at a time on keep-alive connections. */
export async function postCalls(
  ctx: Context,
  bodies: readonly string[],
  concurrency: number,
): Promise<Posting> {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: concurrency });
  const times: number[] = [];
  const byStatus: Record<string, number> = {};
  const problems: string[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const t0 = performance.now();
      try {
        const answer = await httpCall(
          ctx.ports.callcard,
          'POST',
          '/CallFlow',
          body,
          { 'X-Execution-Token': ctx.token },
          10_000,
          agent,
        );
        times.push(performance.now() - t0);
        byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
        if (answer.status !== 200 && problems.length < 5)
          problems.push(`status ${answer.status}: ${answer.body.slice(0, 200)}`);
      } catch (error) {
        errors++;
        if (problems.length < 5) problems.push(errorMessage(error));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    agent.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  const sorted = times.sort((a, b) => a - b);
  return {
    posted: bodies.length,
    concurrency,
    seconds: round(seconds),
    postsPerSecond: round(bodies.length / seconds, 1),
    status200: byStatus[200] ?? 0,
    byStatus,
    errors,
    problems,
    latencyMs: { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: round(sorted.at(-1) ?? null) },
  };
}
