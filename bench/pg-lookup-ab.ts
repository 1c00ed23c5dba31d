// The PostgreSQL store's lookup path measured in one process, A/B interleaved: CPU time per lookup of
// this process and of the PostgreSQL backends serving it (/proc, the server runs on this machine),
// so that a busy machine moves both variants alike. `npx tsx bench/pg-lookup-ab.ts [contacts]`
// (BENCH_PG_URL, 127.0.0.1 only). A: one statement per lookup (the store's statement as it was: a
// named statement per lookup, one round trip each); B: the store's findByKey. Half hits, half misses,
// every key distinct within a round. The schema is its own and dropped at the end.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { ident } from '../src/store/postgres/pool.js';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import type { ContactRecord } from '../src/store/types.js';
import { assertLocal, pgUrl } from './support/pg.js';

const CONTACTS = Number(process.argv[2] ?? 50_000);
const ROUNDS = Number(process.env['AB_ROUNDS'] ?? 6);
const PER_ROUND = Number(process.env['AB_LOOKUPS'] ?? 4000);
const CONCURRENCY = Number(process.env['AB_CONCURRENCY'] ?? 32);
const POOL = Number(process.env['AB_POOL'] ?? 10);
const SOURCE = 'contacts';
const schema = `callcard_pg_ab_${process.pid}`;
const app = `callcard-pg-ab-${process.pid}`;
const base = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
assertLocal(base);
const url = pgUrl(base, app);

const hz = 100; // clock ticks per second (USER_HZ)
function ticks(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

const hitKey = (i: number) => `4144${String(1_000_000 + i).padStart(7, '0')}`;
const missKey = (i: number) => `4131${String(1_000_000 + i).padStart(7, '0')}`;

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: pgUrl(base, `${app}-admin`) });
  await admin.connect();
  const store = await openPostgresStore({ url, schema, maxConnections: POOL });
  const s = ident(schema);
  try {
    const session = await store.contacts.beginImport(SOURCE, { replace: true });
    for (let start = 0; start < CONTACTS; start += 5000) {
      const batch: ContactRecord[] = [];
      for (let i = start; i < Math.min(CONTACTS, start + 5000); i++)
        batch.push({
          id: `c${i}`,
          name: `Person ${i}`,
          company: i % 3 === 0 ? `Firm ${i % 1000} AG` : undefined,
          phones: [{ key: hitKey(i) as never, raw: `044 ${i}` }],
          updatedAt: 1_700_000_000_000 + i,
        } as ContactRecord);
      await session.write(batch);
    }
    await session.commit();
    await admin.query(`ANALYZE ${s}.contacts, ${s}.phone_keys, ${s}.sources`);
    const pool = new pg.Pool({ connectionString: url, max: POOL, idleTimeoutMillis: 0 });
    const single = {
      name: `ab_single_${schema}`,
      text: `
      SELECT c.id, c.name, c.company, c.contact_uri, c.company_uri, c.custom_data, c.updated_at, k.position
        FROM ${s}.phone_keys k JOIN ${s}.contacts c ON c.seq = k.contact
       WHERE k.key = $1 AND k.source = (SELECT id FROM ${s}.sources WHERE name = $2)
       ORDER BY k.position = 0 DESC, coalesce(c.updated_at, 0) DESC, k.position, k.contact
       LIMIT $3`,
    };
    const variants = {
      A: async (key: string) => (await pool.query({ ...single, values: [key, SOURCE, 5] })).rows.length,
      B: async (key: string) => (await store.contacts.findByKey(SOURCE, key as never, 5)).length,
    };
    let offset = 0;
    const totals = { A: { own: 0, db: 0, n: 0, found: 0 }, B: { own: 0, db: 0, n: 0, found: 0 } };
    for (let round = 0; round < ROUNDS * 2; round++) {
      const name = (round % 2 === 0) === (Math.floor(round / 2) % 2 === 0) ? 'A' : 'B';
      const run = variants[name];
      const keys = Array.from({ length: PER_ROUND }, (_, i) =>
        i % 2 === 0 ? hitKey((offset + i) % CONTACTS) : missKey(offset + i),
      );
      offset += PER_ROUND;
      // Warm the pools (all connections open) before measuring.
      await Promise.all(Array.from({ length: POOL * 2 }, (_, i) => run(missKey(10_000_000 + i))));
      const { rows } = await admin.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_activity WHERE application_name = $1',
        [app],
      );
      const pids = rows.map((r) => r.pid);
      const db0 = pids.reduce((n, pid) => n + ticks(pid), 0);
      const cpu0 = process.cpuUsage();
      let next = 0;
      let found = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < keys.length) {
            const n = await run(keys[next++]!);
            found += n;
          }
        }),
      );
      const cpu = process.cpuUsage(cpu0);
      const db = pids.reduce((n, pid) => n + ticks(pid), 0) - db0;
      const t = totals[name];
      t.own += cpu.user + cpu.system;
      t.db += (db / hz) * 1e6;
      t.n += keys.length;
      t.found += found;
    }
    for (const [name, t] of Object.entries(totals))
      process.stdout.write(
        `${name}: ${t.n} lookups, ${t.found} contacts found; CPU/lookup: this process ${Math.round(t.own / t.n)} µs, ` +
          `PostgreSQL backends ${Math.round(t.db / t.n)} µs\n`,
      );
    await pool.end();
  } finally {
    await store.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await admin.end();
  }
}

await main();
