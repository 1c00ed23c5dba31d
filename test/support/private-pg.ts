/**
 * A PostgreSQL cluster of a test's own, in a temp dir (initdb / pg_ctl of the installed server), on
 * a free port: a test may stop and restart it without touching the machine's shared server. As
 * root the server runs as the `postgres` user (initdb refuses root). `privatePgUnavailable()` says
 * why none can be made (no server binaries), for a skip with a message, a failure under CI.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The newest installed server's bin directory, or undefined. */
function serverBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((name) => existsSync(join(root, name, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

export function privatePgUnavailable(): string | undefined {
  return serverBin() === undefined ? 'no initdb under /usr/lib/postgresql/*/bin' : undefined;
}

const asRoot = process.getuid?.() === 0;

/** Runs a server binary, as `postgres` when the test runs as root. */
async function server(tool: string, args: string[]): Promise<void> {
  const bin = join(serverBin()!, tool);
  if (asRoot) await run('runuser', ['-u', 'postgres', '--', bin, ...args]);
  else await run(bin, args);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export interface PrivatePg {
  readonly port: number;
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  /** `pg_ctl restart -m fast`: every connection ends, then the server answers again. */
  restart(): Promise<void>;
  /** `pg_ctl stop -m fast`: the server is gone until `start()`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  remove(): Promise<void>;
}

export async function startPrivatePg(): Promise<PrivatePg> {
  const dir = mkdtempSync(join(tmpdir(), 'callcard-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const port = await freePort();
  await server('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  // Its socket in its own dir, its port its own, no fsync (a test's data need not survive a crash).
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const ctl = (args: string[]) => server('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', ...args]);
  const start = () => ctl(['-o', options, 'start']);
  await start();
  let removed = false;
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    restart: () => ctl(['-o', options, '-m', 'fast', 'restart']),
    stop: () => ctl(['-m', 'fast', 'stop']),
    start,
    async remove() {
      if (removed) return;
      removed = true;
      await ctl(['-m', 'immediate', 'stop']).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
