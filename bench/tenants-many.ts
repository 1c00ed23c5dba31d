// Many tenants in one PostgreSQL database: `npx tsx bench/tenants-many.ts [--tenants 1000]`.
//
// Starts `callcard serve` (the built dist/cli/index.js: `npm run build` first) with N tenants, each in
// a schema of its own in a database of the run's own on the machine's PostgreSQL (dropped at the
// end), twice: the
// first start creates the schemas, the second finds them. For each start it reports the time until
// the banner, the process's resident memory (VmRSS, VmHWM), and the connections the instance holds
// (pg_stat_activity, by an application_name of its own given in store.url), then a lookup on the
// first and the last tenant. Figures depend on the machine and its load: quote them with both.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { procStatus } from './support/proc.js';

const args = process.argv.slice(2);
const count = Number(args[args.indexOf('--tenants') + 1] ?? 1000) || 1000;
const pgBase = process.env['CALLCARD_BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const tag = `bench_tenants_${process.pid}`;
const prefix = `cc_${tag}`;
const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'callcard-tenants-'));
const pad = (n: number) => String(n).padStart(4, '0');
const name = (n: number) => `t${pad(n)}`;
const token = (n: number) => `token-${pad(n)}-0123456789abcdef`;
// A database of the run's own on the shared server, dropped at the end with its schemas.
const database = `cc_${tag}`;
const server = new pg.Pool({ connectionString: pgBase, max: 1 });
await server.query(`CREATE DATABASE "${database}"`);
const pgRun = Object.assign(new URL(pgBase), { pathname: `/${database}` }).toString();
const admin = new pg.Pool({ connectionString: pgRun, max: 2 });

function writeConfig() {
  const lines = [
    'port: 0',
    'host: 127.0.0.1',
    `dataDir: ${join(dir, 'data')}`,
    'log: { level: warn }',
    `store: { type: postgres, url: "${pgRun}?application_name=${tag}" }`,
    'tenants:',
  ];
  for (let n = 1; n <= count; n++) {
    lines.push(
      `  ${name(n)}: { basePath: /${name(n)}, auth: { tokens: [${token(n)}] }, store: { schema: ${prefix}_${name(n)} } }`,
    );
  }
  const file = join(dir, 'callcard.yaml');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const connections = async () =>
  Number(
    (
      await admin.query<{ n: string }>(
        'SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1',
        [tag],
      )
    ).rows[0]!.n,
  );

async function start(file: string) {
  const began = process.hrtime.bigint();
  const child = spawn(process.execPath, [join(root, 'dist/cli/index.js'), 'serve', '--config', file], {
    cwd: dir,
    env: { PATH: process.env['PATH'] ?? '' },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  let banner = '';
  let peakConnections = 0;
  const sampler = setInterval(() => {
    void connections().then((n) => {
      peakConnections = Math.max(peakConnections, n);
    });
  }, 200);
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr!.on('data', (chunk) => {
      banner += chunk;
      const found = /listening on 127\.0\.0\.1:(\d+)/.exec(banner);
      if (found) resolve(Number(found[1]));
    });
    child.once('exit', (code) => reject(new Error(`callcard exited with ${code}: ${banner.slice(-2000)}`)));
  });
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  const atStart = { rss: procStatus(child.pid), connections: await connections() };
  const lookup = async (n: number) => {
    const t0 = process.hrtime.bigint();
    const response = await fetch(`http://127.0.0.1:${port}/${name(n)}/Lookup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-execution-token': token(n) },
      body: JSON.stringify({ inputs: { phoneNumber: '41215522000' } }),
    });
    const body = await response.text();
    return { tenant: name(n), status: response.status, ms: Number(process.hrtime.bigint() - t0) / 1e6, body };
  };
  const lookups = [await lookup(1), await lookup(count), await lookup(1), await lookup(count)];
  // A while idle: the delivery workers of every tenant poll their outboxes.
  const idleFrom = Date.now();
  while (Date.now() - idleFrom < 20_000) await new Promise((resolve) => setTimeout(resolve, 500));
  clearInterval(sampler);
  const afterIdle = { rss: procStatus(child.pid), connections: await connections() };
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
  return { seconds, atStart, afterIdle, peakConnections, lookups };
}

try {
  const file = writeConfig();
  console.log(
    `${count} tenants, schema prefix ${prefix}, load average before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const first = await start(file);
  console.log('first start (schemas created):', JSON.stringify(first, null, 1));
  const second = await start(file);
  console.log('second start (schemas there):', JSON.stringify(second, null, 1));
  console.log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  const { rows } = await admin.query<{ nspname: string }>(
    "SELECT nspname FROM pg_namespace WHERE nspname LIKE $1 || '\\_%'",
    [prefix],
  );
  console.log(`${rows.length} schemas made; dropping database ${database}`);
  await admin.end();
  await server.query(`DROP DATABASE "${database}" WITH (FORCE)`);
  await server.end();
  rmSync(dir, { recursive: true, force: true });
}
