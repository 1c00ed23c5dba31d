// callcard itself, as the bench runs it: `serve` as a child process, config files, CLI commands.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Child, exitWithin, start, stop } from './children.js';
import { type Context, ROOT } from './context.js';
import { assertPortFree, HOST, waitHealthy } from './http.js';
import { type ProcStatus, procStatus } from './proc.js';

/** Lifts the rate limits (in builds that have them): the loads come from one address with one token. */
const NO_LIMITS = { perAddress: { max: 1_000_000_000 }, perToken: { max: 1_000_000_000 } };

/** Writes a config file (JSON, which is YAML) into the work dir. */
export async function writeConfig(
  ctx: Context,
  name: string,
  config: Record<string, unknown>,
): Promise<string> {
  const file = join(ctx.paths.work, `${name}.yaml`);
  const full = ctx.hasLimits ? { limits: NO_LIMITS, ...config } : config;
  await writeFile(file, `${JSON.stringify(full, null, 2)}\n`);
  return file;
}

export function freshDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}

/** The environment of a CLI command: this data dir, log level warn, no config or token from outside. */
export function cliEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CALLCARD_DATA_DIR: dataDir, CALLCARD_LOG_LEVEL: 'warn' };
  for (const name of ['CALLCARD_CONFIG', 'CALLCARD_TOKEN', 'CALLCARD_TOKEN_FILE']) delete env[name];
  return env;
}

export interface SourceFailures {
  total: number;
  byStatus: Record<string, number>;
  samples: string[];
}

export interface Server {
  readonly child: Child;
  readonly startupMs: number;
  readonly idle: ProcStatus;
  /** With logs piped: the "source failed" warnings by status, with a few samples. */
  readonly sourceFailures: SourceFailures;
  /** With logs piped: log lines by message (`msg`). */
  readonly messages: Map<string, number>;
}

export interface ServeOptions {
  readonly logLevel: 'warn' | 'info';
  /** 'pipe': the log lines (JSON) are read and counted; 'ignore': they go nowhere. */
  readonly logTo: 'pipe' | 'ignore';
  /** A config file (--config); by default one that only lifts the rate limits. */
  readonly config?: string;
  readonly dataDir?: string;
  /** The callcard port by default (another instance: one of `ctx.ports.instances`). */
  readonly port?: number;
}

/** Starts `callcard serve` on the callcard port and waits for /healthz. */
export async function startCallcard(ctx: Context, options: ServeOptions): Promise<Server> {
  const port = options.port ?? ctx.ports.callcard;
  await assertPortFree(port);
  const config = options.config ?? (ctx.hasLimits ? await writeConfig(ctx, 'defaults', {}) : undefined);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CALLCARD_DATA_DIR: options.dataDir ?? ctx.paths.data,
    CALLCARD_TOKEN: ctx.token,
    CALLCARD_LOG_LEVEL: options.logLevel,
  };
  for (const name of [
    'CALLCARD_CONFIG',
    'CALLCARD_TOKEN_FILE',
    'CALLCARD_BASE_PATH',
    'CALLCARD_PORT',
    'CALLCARD_HOST',
  ])
    delete env[name];
  const child = start(
    `callcard (${options.logLevel})`,
    process.execPath,
    [ctx.paths.cli, 'serve', '--port', String(port), '--host', HOST, ...(config ? ['--config', config] : [])],
    { cwd: ROOT, env, stdio: ['ignore', options.logTo, 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (data: Buffer) => {
    if (stderr.length < 20_000) stderr += data;
  });
  const sourceFailures: SourceFailures = { total: 0, byStatus: {}, samples: [] };
  const messages = new Map<string, number>();
  if (options.logTo === 'pipe' && child.stdout) {
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (data: string) => {
      const lines = (partial + data).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const failure = line.includes('"source failed"');
        if (failure) sourceFailures.total++;
        try {
          const entry = JSON.parse(line) as { msg?: string; status?: string; err?: string };
          if (entry.msg) messages.set(entry.msg, (messages.get(entry.msg) ?? 0) + 1);
          if (failure) {
            const status = String(entry.status);
            sourceFailures.byStatus[status] = (sourceFailures.byStatus[status] ?? 0) + 1;
            if (sourceFailures.samples.length < 3) sourceFailures.samples.push(`${status}: ${entry.err}`);
          }
        } catch {
          // a line cut by the pipe: counted, not classified
        }
      }
    });
  }
  try {
    const startupMs = await waitHealthy(child, port);
    return { child, startupMs, idle: procStatus(child.pid), sourceFailures, messages };
  } catch (error) {
    await stop(child);
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${stderr}`);
  }
}

export interface CliRun {
  readonly code: number | string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallSeconds: number;
  readonly peakRssMb: number | null;
  readonly peakRssFrom: string | null;
  /** CPU seconds of the command, user + system (from /usr/bin/time -v): less noisy than wall time. */
  readonly cpuSeconds: number | null;
}

/** Runs a CLI command to its end (under /usr/bin/time -v when there is one): output, wall time, peak RSS. */
export async function runCli(
  ctx: Context,
  label: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  limitMs: number,
): Promise<CliRun> {
  const timeFile = join(ctx.paths.work, `${label}.time.txt`);
  rmSync(timeFile, { force: true });
  const useTime = existsSync('/usr/bin/time');
  const command = [ctx.paths.cli, ...args];
  let stdout = '';
  let stderr = '';
  const started = performance.now();
  const child = useTime
    ? start(label, '/usr/bin/time', ['-v', '-o', timeFile, process.execPath, ...command], { cwd: ROOT, env })
    : start(label, process.execPath, command, { cwd: ROOT, env });
  child.stdout?.on('data', (data: Buffer) => {
    if (stdout.length < 1_000_000) stdout += data;
  });
  child.stderr?.on('data', (data: Buffer) => {
    if (stderr.length < 100_000) stderr += data;
  });
  const { code, signal } = await exitWithin(child, limitMs, label);
  const wallSeconds = (performance.now() - started) / 1000;
  let peakRssMb: number | null = null;
  let cpuSeconds: number | null = null;
  if (useTime && existsSync(timeFile)) {
    const times = readFileSync(timeFile, 'utf8');
    const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(times);
    if (kb) peakRssMb = Math.round(Number(kb[1]) / 1024);
    const user = /User time \(seconds\): ([\d.]+)/.exec(times);
    const system = /System time \(seconds\): ([\d.]+)/.exec(times);
    if (user && system) cpuSeconds = Math.round((Number(user[1]) + Number(system[1])) * 100) / 100;
  }
  return {
    code: code ?? signal,
    stdout,
    stderr,
    wallSeconds,
    peakRssMb,
    peakRssFrom: useTime ? '/usr/bin/time -v' : null,
    cpuSeconds,
  };
}

/** Size of the index files (contacts.db*) of a data dir, in MB. */
export function contactsDbMb(dataDir: string): number {
  const bytes = readdirSync(dataDir)
    .filter((file) => file.startsWith('contacts.db'))
    .reduce((sum, file) => sum + statSync(join(dataDir, file)).size, 0);
  return Math.round(bytes / 2 ** 20);
}

export const lookupBody = (number: string): string => JSON.stringify({ inputs: { phoneNumber: number } });
