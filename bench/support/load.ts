// A measured HTTP load: autocannon in its own process (bench/servers/loader.ts), with the CPU use of
// the server, the loader and everything else sampled from /proc around the measured part.
import { writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { LoaderJob, LoaderResult } from '../servers/loader.js';
import { exitWithin, log, sleep, start } from './children.js';
import { type Context, ROOT } from './context.js';
import { HOST } from './http.js';
import { type MachineTicks, machineTicks, processTicks } from './proc.js';

export interface CpuPercent {
  /** The service's processes (all its instances). */
  readonly server: number;
  /** The PostgreSQL backends serving the service's connections (a store on PostgreSQL). */
  readonly database?: number;
  readonly loader: number;
  readonly others: number;
  readonly interrupts: number;
  readonly steal: number;
  readonly machineBusy: number;
  readonly machineCapacity: number;
}

export interface LoadResult extends LoaderResult {
  machineBusyBeforePercent: number | null;
  waitedForQuietMs: number;
  /** Where the cores went during the measured run, in % of one core. */
  cpuPercent?: CpuPercent;
  /** Server CPU time per answered request: unlike req/s, barely moved by steal or other load. */
  serverCpuMicrosPerRequest?: number;
  /** The PostgreSQL backends' CPU time per answered request (a store on PostgreSQL). */
  databaseCpuMicrosPerRequest?: number;
  /** How many backends were sampled. */
  databaseBackends?: number;
}

/** Below this share of the machine busy, it counts as quiet. */
const QUIET_BUSY_PERCENT = 15;

/**
 * Other work on the machine skews every figure here (2 cores for server and loader). Waits, at most
 * `quietWait` seconds, for a second in which the machine is less than QUIET_BUSY_PERCENT busy; returns
 * what it saw, so that the summary can tell a noisy run.
 */
async function waitForQuiet(
  ctx: Context,
  label: string,
): Promise<{ waitedMs: number; busyPercent: number | null }> {
  const started = performance.now();
  let busyPercent: number | null = null;
  while (performance.now() - started < ctx.options.quietWait * 1000) {
    const a = machineTicks();
    await sleep(1000);
    const b = machineTicks();
    if (!a || !b) return { waitedMs: 0, busyPercent: null };
    busyPercent = Math.round(((b.busy - a.busy) / Math.max(1, b.total - a.total)) * 1000) / 10;
    if (busyPercent < QUIET_BUSY_PERCENT) break;
  }
  const waitedMs = Math.round(performance.now() - started);
  if (busyPercent !== null && busyPercent >= QUIET_BUSY_PERCENT) {
    log(
      `${label}: machine still ${busyPercent}% busy after ${waitedMs / 1000} s of waiting; going on (figures will be low)`,
    );
  }
  return { waitedMs, busyPercent };
}

export interface LoadOptions {
  readonly path?: string;
  readonly connections?: number;
  readonly warmupSeconds?: number;
  readonly durationSeconds?: number;
  /**
   * The PostgreSQL backends of the service's connections, asked when the measured part starts (the
   * pools have grown in the warm-up): their CPU is counted apart from everything else's.
   */
  readonly databasePids?: () => Promise<readonly number[]>;
}

interface Sample {
  readonly at: number;
  readonly machine: MachineTicks | null;
  readonly server: number | null;
  readonly database: number | null;
}

/** CPU ticks of all of `pids`; null when one of them is gone. */
function ticksOf(pids: readonly (number | undefined)[]): number | null {
  let sum = 0;
  for (const pid of pids) {
    const ticks = processTicks(pid);
    if (ticks === null) return null;
    sum += ticks;
  }
  return sum;
}

/**
 * Loads POST `path` (default /Lookup) with the bodies of `bodiesFile`; the lookup settings by default.
 * Several ports: instances of one service, the connections shared out among them (`serverPid` then
 * lists them all).
 */
export async function runLoad(
  ctx: Context,
  port: number | readonly number[],
  bodiesFile: string,
  label: string,
  serverPid: number | readonly (number | undefined)[] | undefined,
  options: LoadOptions = {},
): Promise<LoadResult> {
  const ports = typeof port === 'number' ? [port] : port;
  const serverPids = typeof serverPid === 'object' ? serverPid : [serverPid];
  const path = options.path ?? '/Lookup';
  const connections = options.connections ?? ctx.options.connections;
  const warmup = options.warmupSeconds ?? ctx.options.warmup;
  const duration = options.durationSeconds ?? ctx.options.duration;
  const quiet = await waitForQuiet(ctx, label);
  const jobFile = join(ctx.paths.work, `load-${label}.json`);
  const job: LoaderJob = {
    url: `http://${HOST}:${ports[0]}`,
    ...(ports.length > 1 && { urls: ports.map((p) => `http://${HOST}:${p}`) }),
    path,
    headers: { 'X-Execution-Token': ctx.token },
    bodiesFile,
    connections,
    warmupSeconds: warmup,
    durationSeconds: duration,
    timeoutSeconds: 10,
  };
  await writeFile(jobFile, JSON.stringify(job));
  log(
    `load ${label}: POST ${path}, ${connections} connections${ports.length > 1 ? ` over ${ports.length} instances` : ''}, ${warmup} s warm-up + ${duration} s`,
  );
  const child = start(
    `load ${label}`,
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'bench', 'servers', 'loader.ts'), jobFile],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  let before: Sample | undefined;
  let after: Sample | undefined;
  let databasePids: readonly number[] = [];
  let asking = false;
  const sample = (): Sample => ({
    at: performance.now(),
    machine: machineTicks(),
    server: ticksOf(serverPids),
    database: options.databasePids ? ticksOf(databasePids) : null,
  });
  child.stdout?.on('data', (data: Buffer) => {
    stdout += data;
    if (!before && !asking && stdout.includes('MEASURE_START\n')) {
      if (options.databasePids) {
        asking = true;
        options.databasePids().then(
          (pids) => {
            databasePids = pids;
            if (!after) before = sample();
          },
          (error: unknown) => log(`${label}: PostgreSQL backends not found: ${String(error)}`),
        );
      } else before = sample();
    }
    // Sampled when the measured run ends (its result line arrives), before the loader has exited.
    if (before && !after && stdout.includes('"requests"')) after = sample();
  });
  child.stderr?.on('data', (data: Buffer) => {
    if (stderr.length < 20_000) stderr += data;
  });
  const { code, signal } = await exitWithin(child, (warmup + duration + 60) * 1000, `load ${label}`);
  if (code !== 0) throw new Error(`load ${label} failed (${code ?? signal}): ${stderr.slice(-4000)}`);
  const loaded = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as LoaderResult;
  const result: LoadResult = {
    ...loaded,
    machineBusyBeforePercent: quiet.busyPercent,
    waitedForQuietMs: quiet.waitedMs,
  };
  const b = before;
  const a = after;
  if (b?.machine && a?.machine && b.server !== null && a.server !== null) {
    const seconds = (a.at - b.at) / 1000;
    const hz = (a.machine.total - b.machine.total) / seconds / cpus().length; // ticks per core-second
    const pct = (ticks: number) => Math.round((ticks / hz / seconds) * 1000) / 10;
    const delta = (name: keyof MachineTicks) => pct(a.machine![name] - b.machine![name]);
    const server = pct(a.server - b.server);
    const database = a.database !== null && b.database !== null ? pct(a.database - b.database) : null;
    result.cpuPercent = {
      server,
      ...(database !== null && { database }),
      loader: result.loaderCpuPercent,
      // Everything else but steal: other processes, and interrupts (loopback network) not charged to
      // the two (the kernel charges part of them to both, so this can dip slightly below zero).
      others:
        Math.round(
          (delta('processes') + delta('interrupts') - server - (database ?? 0) - result.loaderCpuPercent) *
            10,
        ) / 10,
      interrupts: delta('interrupts'),
      steal: delta('steal'),
      machineBusy: delta('busy'),
      machineCapacity: cpus().length * 100,
    };
    result.serverCpuMicrosPerRequest = Math.round(
      (((a.server - b.server) / hz) * 1e6) / Math.max(1, result.requests),
    );
    if (a.database !== null && b.database !== null) {
      result.databaseCpuMicrosPerRequest = Math.round(
        (((a.database - b.database) / hz) * 1e6) / Math.max(1, result.requests),
      );
      result.databaseBackends = databasePids.length;
    }
  }
  return result;
}
