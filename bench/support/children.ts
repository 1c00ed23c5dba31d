// Child processes of the bench: each in its own process group, killed (group-wide, by its own pid) on
// every way out: normal end, a signal, the run limit.
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: Error;
}

export interface Child extends ChildProcess {
  readonly benchName: string;
  readonly exited: Promise<Exit>;
}

const children = new Set<Child>();
const cleanups: (() => void)[] = [];

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Starts a process in its own group; `cwd` is the project root unless given. */
export function start(name: string, command: string, args: readonly string[], options: SpawnOptions): Child {
  const child = spawn(command, args, { detached: true, ...options });
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(tracked);
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      children.delete(tracked);
      resolve({ code: null, signal: null, error });
    });
  });
  const tracked = Object.assign(child, { benchName: name, exited });
  children.add(tracked);
  return tracked;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** SIGTERM to the child's group, SIGKILL after `graceMs`. */
export async function stop(child: Child, graceMs = 5000): Promise<Exit> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
  const result = await child.exited;
  clearTimeout(timer);
  return result;
}

function killAll(): void {
  for (const child of children) signalGroup(child, 'SIGKILL');
}

/** Work that must run on the ways out without await (e.g. dropping a table with psql). */
export function onEmergency(cleanup: () => void): void {
  cleanups.push(cleanup);
}

export function emergencyCleanup(): void {
  killAll();
  for (const cleanup of cleanups.splice(0)) cleanup();
}

/** Kills every child on exit, on SIGINT/SIGTERM/SIGHUP, and when the run limit is reached. */
export function guardProcess(runLimitMs: number): void {
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping children\n`);
      emergencyCleanup();
      process.exit(130);
    });
  }
  setTimeout(() => {
    process.stderr.write(`bench: run limit of ${Math.round(runLimitMs / 60_000)} min reached, giving up\n`);
    emergencyCleanup();
    process.exit(3);
  }, runLimitMs).unref();
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms / 1000} s`)), ms);
    }),
  ]);
}

/** Waits for the child's exit, at most `ms`; stops it when the time is up. */
export function exitWithin(child: Child, ms: number, what: string): Promise<Exit> {
  return withTimeout(child.exited, ms, what).catch(async (error: unknown) => {
    await stop(child);
    throw error;
  });
}
