import { spawn } from 'node:child_process';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { CliExit } from '../../src/cli/io.js';
import { runProgram } from '../../src/cli/program.js';

/** What a run of the command line left: its exit code and what it wrote. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function collect(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/**
 * `callcard ARGS` run in this process, as the binary runs it, with only PATH and `env` in its
 * environment and `cwd` as its directory: its streams are captured and its exit ends the run, not the
 * process.
 */
export async function runCli(
  args: readonly string[],
  options: { readonly env?: Record<string, string>; readonly cwd?: string } = {},
): Promise<CliResult> {
  const stdout = collect();
  const stderr = collect();
  // Source adapters and actions read their secrets' variables from the process's environment:
  // the test's variables are set there for the run, and put back after it.
  const saved = Object.entries(options.env ?? {}).map(([name]) => [name, process.env[name]] as const);
  Object.assign(process.env, options.env);
  let code: number;
  try {
    code = await runProgram(args, {
      stdout: stdout.stream,
      stderr: stderr.stream,
      exit: (exitCode) => {
        throw new CliExit(exitCode);
      },
      env: { PATH: process.env['PATH'] ?? '', ...options.env },
      cwd: options.cwd ?? process.cwd(),
    });
  } catch (error) {
    if (!(error instanceof CliExit)) throw error;
    code = error.code;
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
  // What was written is all in the streams' buffers: let their data events run.
  await new Promise<void>((done) => setImmediate(done));
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** The command line's entry point, run from source (no build needed). */
export const CLI_SOURCE = resolve(import.meta.dirname, '../../src/cli/index.ts');

/** The arguments that start the real `callcard` process from source: `node ...CLI_ARGS serve`. */
export const CLI_ARGS = ['--import', import.meta.resolve('tsx'), CLI_SOURCE] as const;

/** `callcard ARGS` as a separate process (run from source), for what needs one; never blocks the worker. */
export function spawnCli(
  args: readonly string[],
  options: { readonly env?: Record<string, string>; readonly cwd?: string; readonly timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], {
      env: { PATH: process.env['PATH'] ?? '', ...options.env },
      ...(options.cwd && { cwd: options.cwd }),
      timeout: options.timeoutMs ?? 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * The `callcard` binary as `npm run build` makes it, bundled into `dir` laid out as an installed
 * package (its package.json, node_modules, dist/): `node <answer> serve` starts in a fraction of the
 * time the sources take through tsx, for tests that start several processes.
 */
export async function buildCli(dir: string): Promise<string> {
  const root = resolve(import.meta.dirname, '../..');
  const { bundleCli } = await import('../../scripts/bundle-cli.js');
  writeFileSync(join(dir, 'package.json'), readFileSync(join(root, 'package.json')));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  await bundleCli(join(dir, 'dist'));
  return join(dir, 'dist', 'cli', 'index.js');
}
