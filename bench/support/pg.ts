// PostgreSQL helpers of the sql scenarios: the contacts table that the live and mirror SQL sources read.
//
// The table holds the benchmark's CSV as a CRM would (text columns, NULL for empty fields) plus
// `phone_e164`: the main number's key as callcard computes it (dist/phone storedKeys, in the row's
// country or CH), with a B-tree index. It is UNLOGGED (bench data, no WAL to write on a shared machine)
// and dropped at the end of the run; only 127.0.0.1 is contacted.
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'csv-parse';
import type { CountryCode } from 'libphonenumber-js';
import pg from 'pg';

export const TABLE = 'callcard_bench_contacts';
export const INDEX = `${TABLE}_phone_e164`;

const COLUMNS = [
  'id',
  'first_name',
  'last_name',
  'company',
  'phone',
  'mobile',
  'email',
  'country',
  'phone_e164',
] as const;

/** The URL with an application_name, so that the bench's own backends can be told apart. */
export function pgUrl(url: string, applicationName: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', applicationName);
  return parsed.toString();
}

export function assertLocal(url: string): void {
  const { hostname } = new URL(url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(hostname))
    throw new Error(`BENCH_PG_URL must point at 127.0.0.1 (got host ${hostname})`);
}

export async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: pgUrl(url, 'callcard-bench-runner'),
    connectionTimeoutMillis: 5000,
    statement_timeout: 10 * 60_000,
    lock_timeout: 20_000,
  });
  client.on('error', () => {});
  await client.connect();
  return client;
}

export interface TableLoad {
  readonly rows: number;
  readonly withoutE164: number;
  readonly loadSeconds: number;
  readonly rowsPerSecond: number;
  readonly e164Seconds: number;
  readonly indexSeconds: number;
  readonly tableMb: number;
  readonly method: string;
}

type CsvRecord = Partial<Record<(typeof COLUMNS)[number], string>>;

/**
 * Creates the table and fills it from the CSV, in batches of `batch` rows sent as one
 * `INSERT ... SELECT * FROM unnest($1::text[], ...)` each (one batch in flight while the next is parsed),
 * then builds the index on phone_e164 and analyzes.
 */
export async function loadTable(
  client: pg.Client,
  options: { csvFile: string; distDir: string; batch?: number; log?: (message: string) => void },
): Promise<TableLoad> {
  const { csvFile, distDir, batch = 10_000, log = () => {} } = options;
  const { storedKeys } = (await import(
    pathToFileURL(join(distDir, 'phone', 'index.js')).href
  )) as typeof import('../../src/phone/index.js');
  await client.query(`DROP TABLE IF EXISTS ${TABLE}`);
  await client.query(
    `CREATE UNLOGGED TABLE ${TABLE} (id text NOT NULL, first_name text, last_name text, company text, ` +
      'phone text, mobile text, email text, country text, phone_e164 text, ' +
      'updated_at timestamptz NOT NULL DEFAULT now())',
  );
  const insert =
    `INSERT INTO ${TABLE} (${COLUMNS.join(', ')}) SELECT * FROM unnest(` +
    `${COLUMNS.map((_, i) => `$${i + 1}::text[]`).join(', ')})`;
  const started = performance.now();
  let keyMs = 0;
  let rows = 0;
  let withoutE164 = 0;
  let arrays: (string | null)[][] = COLUMNS.map(() => []);
  let pending: Promise<void> = Promise.resolve();
  const flush = async () => {
    const values = arrays;
    arrays = COLUMNS.map(() => []);
    await pending;
    pending = client.query(insert, values).then(() => undefined);
    // Keeps the rejection from being unhandled while the next batch is parsed; awaited below.
    pending.catch(() => {});
  };
  const parser = createReadStream(csvFile).pipe(parse({ columns: true, bom: true }));
  for await (const record of parser as AsyncIterable<CsvRecord>) {
    const country = record.country ? record.country.trim().toUpperCase() : '';
    const t0 = performance.now();
    const key = record.phone ? storedKeys(record.phone, (country || 'CH') as CountryCode)[0] : undefined;
    keyMs += performance.now() - t0;
    const e164 = key?.startsWith('+') ? key : null;
    if (e164 === null) withoutE164++;
    const values = COLUMNS.slice(0, -1).map((column) => record[column] || null);
    values.push(e164);
    for (let i = 0; i < values.length; i++) arrays[i]!.push(values[i]!);
    rows++;
    if (arrays[0]!.length >= batch) await flush();
    if (rows % 200_000 === 0) log(`PostgreSQL: ${rows.toLocaleString('en-US')} rows sent`);
  }
  if (arrays[0]!.length > 0) await flush();
  await pending;
  const loadSeconds = (performance.now() - started) / 1000;
  const indexStarted = performance.now();
  await client.query(`CREATE INDEX ${INDEX} ON ${TABLE} (phone_e164)`);
  const indexSeconds = (performance.now() - indexStarted) / 1000;
  await client.query(`ANALYZE ${TABLE}`);
  const size = await client.query<{ bytes: string }>('SELECT pg_total_relation_size($1) AS bytes', [TABLE]);
  return {
    rows,
    withoutE164,
    loadSeconds: Math.round(loadSeconds * 100) / 100,
    rowsPerSecond: Math.round(rows / loadSeconds),
    e164Seconds: Math.round(keyMs / 10) / 100,
    indexSeconds: Math.round(indexSeconds * 100) / 100,
    tableMb: Math.round(Number(size.rows[0]?.bytes) / 2 ** 20),
    method: `batched INSERT ... SELECT FROM unnest (${batch} rows per statement); pg-copy-streams not installed`,
  };
}

/** How many of these E.164 numbers the table has as phone_e164 (uses the index). */
export async function countE164(client: pg.Client, numbers: readonly string[]): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(DISTINCT phone_e164)::int AS n FROM ${TABLE} WHERE phone_e164 = ANY($1::text[])`,
    [numbers],
  );
  return rows[0]?.n ?? 0;
}

/** Index scans of phone_e164 so far (backends report theirs when idle or on exit). */
export async function indexScans(client: pg.Client): Promise<number | null> {
  const { rows } = await client.query<{ n: string }>(
    'SELECT idx_scan::bigint AS n FROM pg_stat_user_indexes WHERE indexrelname = $1',
    [INDEX],
  );
  return rows[0] ? Number(rows[0].n) : null;
}

/** Ends the bench's own left-over backends (a cut-off pg_sleep keeps running on the server). */
export async function terminateBackends(client: pg.Client, applicationName: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity ' +
      'WHERE application_name = $1 AND pid <> pg_backend_pid()',
    [applicationName],
  );
  return rows[0]?.n ?? 0;
}

export async function dropTable(client: pg.Client): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS ${TABLE}`);
}

/** For the ways out where nothing asynchronous runs any more (signals, the run limit). */
export function dropTableSync(url: string): boolean {
  try {
    execFileSync('psql', [url, '-X', '-q', '-c', `DROP TABLE IF EXISTS ${TABLE}`], {
      stdio: 'ignore',
      timeout: 15_000,
      env: { ...process.env, PGCONNECT_TIMEOUT: '5', PGOPTIONS: '-c lock_timeout=10000' },
    });
    return true;
  } catch {
    return false;
  }
}
