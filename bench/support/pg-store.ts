// callcard on its PostgreSQL store (options.pgUrl, 127.0.0.1 only): the schema the pg scenarios share,
// the config that points callcard at it, its instances side by side, and the backends that serve them.
// The schema is dropped at the end of the run (also on signals and the run limit, with psql).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Server } from './callcard.js';
import { freshDir, startCallcard, writeConfig } from './callcard.js';
import { log, onEmergency, stop } from './children.js';
import type { Context } from './context.js';
import { pgUrl } from './pg.js';

/** The schema of this run: its own, so that two runs on one server never meet. */
export const SCHEMA = `callcard_bench_store_${process.pid}`;
/** How callcard's connections name themselves: their backends are found by it. */
export const APPLICATION_NAME = `callcard-bench-store-${process.pid}`;

/** The store settings of every callcard of the pg scenarios. */
export function storeSettings(ctx: Context): Record<string, unknown> {
  return {
    type: 'postgres',
    url: pgUrl(ctx.options.pgUrl, APPLICATION_NAME),
    schema: SCHEMA,
    maxConnections: ctx.options.pgPool,
  };
}

/** A config file with the PostgreSQL store and `extra` (workflows...). */
export function pgStoreConfig(
  ctx: Context,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<string> {
  return writeConfig(ctx, name, { ...extra, store: storeSettings(ctx) });
}

let schemaMayExist = false;

/** From the first write into the schema until it is dropped. */
export function schemaInUse(ctx: Context): void {
  if (schemaMayExist) return;
  schemaMayExist = true;
  const url = ctx.options.pgUrl;
  onEmergency(() => {
    if (!schemaMayExist) return;
    try {
      execFileSync('psql', [url, '-X', '-q', '-c', `DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`], {
        stdio: 'ignore',
        timeout: 15_000,
        env: { ...process.env, PGCONNECT_TIMEOUT: '5', PGOPTIONS: '-c lock_timeout=10000' },
      });
      process.stderr.write(`bench: dropped PostgreSQL schema ${SCHEMA}\n`);
    } catch {
      process.stderr.write(`bench: could not drop PostgreSQL schema ${SCHEMA}\n`);
    }
  });
}

export async function dropSchema(ctx: Context): Promise<void> {
  if (!schemaMayExist) return;
  const client = await ctx.pg();
  await client.query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
    [APPLICATION_NAME],
  );
  await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  schemaMayExist = false;
  log(`dropped PostgreSQL schema ${SCHEMA}`);
}

/** The pids of the backends of callcard's connections (the server runs on this machine). */
export async function storeBackends(ctx: Context): Promise<number[]> {
  const client = await ctx.pg();
  const { rows } = await client.query<{ pid: number }>(
    'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
    [APPLICATION_NAME],
  );
  return rows.map((row) => row.pid);
}

/** An empty call journal and outbox in the schema (no callcard running). */
export async function freshPgCalls(ctx: Context): Promise<void> {
  const client = await ctx.pg();
  await client.query(`TRUNCATE ${SCHEMA}.deliveries, ${SCHEMA}.calls`);
}

/** `count` instances of `callcard serve` on the store, each on its own port and scratch data dir. */
export async function startInstances(ctx: Context, count: number, config: string): Promise<Server[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const dataDir = join(ctx.paths.work, `data-pg-${i}`);
      freshDir(dataDir);
      const port = ctx.ports.instances[i];
      if (port === undefined) throw new Error(`no port for instance ${i + 1}`);
      servers.push(await startCallcard(ctx, { logLevel: 'warn', logTo: 'ignore', config, dataDir, port }));
    }
    return servers;
  } catch (error) {
    await stopAll(servers);
    throw error;
  }
}

export async function stopAll(servers: readonly Server[]): Promise<void> {
  await Promise.all(servers.map((server) => stop(server.child)));
}
