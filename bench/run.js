// callcard benchmark: `npm run bench` (builds, then runs this file).
//
// 1. Generates 1,000,000 contacts as CSV in bench/.work/ (streamed), with ~2 Swiss, German or Austrian
//    numbers each in mixed human formats; keeps 10,000 known hits (international digits, no "+") and
//    10,000 misses (valid numbers in area codes no contact uses).
// 2. Imports the CSV with the CLI (`import --replace`) into a fresh data dir: wall time, rows/s, peak RSS.
// 3. Serves that data dir (`serve`), checks a sample of hits and misses, then loads POST /Lookup from a
//    separate process (bench/load.js, autocannon): 50% hits / 50% misses, 32 connections, 3 s warm-up,
//    15 s measured. Server RSS from /proc at the end. Once with log level warn, once with info (to /dev/null).
// 4. Loads a bare node:http server (bench/bare.js) answering a real hit's body the same way: the ratio.
// 5. Sources beside the embedded store (PostgreSQL at 127.0.0.1:5432, trust auth; skipped if unreachable):
//    a. live SQL: the same contacts in a PostgreSQL table with an indexed phone_e164 column (computed with
//       callcard's own dist/phone storedKeys); callcard serves a config whose only source is
//       `{type: sql, mode: live, search: {column: phone_e164}}`, loaded like the embedded run (hits: numbers
//       that are a contact's main number). Once with the default live cache, once with the cache
//       effectively off (1 ms TTLs, 1 entry: see liveCacheOff), counting the index scans PostgreSQL did.
//       Plus a check of what `cache: {ttlMs: 0}` does (lru-cache reads a TTL of 0 as "never expires").
//    b. a slow source beside the healthy embedded store: a local HTTP API that sleeps 10 s (rest source),
//       or, when dist has no rest source, a PostgreSQL live source whose search runs pg_sleep(10);
//       lookup.deadlineMs 500, the slow source's timeoutMs 400; sequential and concurrent lookups.
//    c. a full mirror sync of the table (`callcard sync <name> --full --config ...`): rows/s, peak RSS.
//    The table is dropped at the end (also on signals and the run limit, with psql), data dirs removed.
// 6. Workflows (BENCH_WORKFLOWS=0 skips them): CallFlow with a webhook action to a local target
//    (bench/hook.js, its own process, 127.0.0.1), callcard serving the imported contacts, delivery
//    backoff 1000/5000 ms and maxAttempts 1000 so that the drain starts soon and nothing goes dead:
//    a. the target answers 200 {"id","url"} at once: POST /CallFlow from bench/load.js, 16 connections,
//       2 s warm-up + 10 s, distinct calls with every 10th request an exact repeat; then the outbox
//       (`callcard outbox`) must show every call done and the target each Idempotency-Key once. Plus a
//       check of one answer (the target's record url, a repeat answered the same) and the answer time
//       of a few calls while the target answers 503.
//    b. the target answers 503: 10,000 distinct calls of 50 contacts (a sequence number per contact in a
//       custom field) posted 8 at a time with answerBudgetMs 0; then the target answers 200 and the
//       drain is timed (at most 5 min); each key must arrive once, each contact's calls in order.
// 7. Prints a summary with the targets and writes bench/.work/results.json.
//
// The machine has 2 cores: the load generator and the server share them, as do the bare baseline and its
// loader, so the ratio compares like with like. Only 127.0.0.1 is contacted. Children are killed on exit.
//
// Options (environment): BENCH_CONTACTS (default 1000000; everything else scales with it), BENCH_DURATION
// (15), BENCH_WARMUP (3), BENCH_CONNECTIONS (32), BENCH_REUSE_CSV=1 (keep an existing CSV of the same size
// and seed), BENCH_SOURCES=0 (skip step 5), BENCH_PG_URL (postgres://postgres@127.0.0.1:5432/test),
// BENCH_SLOW_SOURCE (auto|rest|sql), BENCH_SLOW_LOOKUPS (200), BENCH_SLOW_CONCURRENCY (16),
// BENCH_DIST (the callcard build to run, default dist/), BENCH_QUIET_WAIT (60: seconds to wait, at most,
// for a quiet machine before each measured load), BENCH_WORKFLOWS=0 (skip step 6), BENCH_WF_CONNECTIONS (16),
// BENCH_WF_WARMUP (2), BENCH_WF_DURATION (10), BENCH_WF_BODIES (60000), BENCH_WF_DOWN_CALLS (10000),
// BENCH_WF_DOWN_CONCURRENCY (8), BENCH_WF_DOWN_BUDGET_MS (0), BENCH_WF_DRAIN_LIMIT (300 s).
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pgBench from './pg.js';
import { startSlowServer } from './slow.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, 'bench', '.work');
const DATA = join(WORK, 'data');
const CSV = join(WORK, 'contacts.csv');
const CSV_META = join(WORK, 'contacts.meta.json');
const DIST = process.env['BENCH_DIST'] ? resolve(process.env['BENCH_DIST']) : join(ROOT, 'dist');
const CLI = join(DIST, 'cli', 'index.js');
const DATA_LIVE = join(WORK, 'data-live');
const DATA_MIRROR = join(WORK, 'data-mirror');
const NODE = process.execPath;
const HOST = '127.0.0.1';
const CALLCARD_PORT = 18181;
const BARE_PORT = 18182;
const SLOW_PORT = 18183;
const HOOK_PORT = 18184;

const CONTACTS = Number(process.env['BENCH_CONTACTS'] ?? 1_000_000);
const HITS = Math.min(10_000, Math.floor(CONTACTS / 10));
const MISSES = HITS;
const DURATION = Number(process.env['BENCH_DURATION'] ?? 15);
const WARMUP = Number(process.env['BENCH_WARMUP'] ?? 3);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 32);
const SEED = 20_240_501;
const SOURCES = process.env['BENCH_SOURCES'] !== '0';
const PG_URL = process.env['BENCH_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
const SLOW_SOURCE = process.env['BENCH_SLOW_SOURCE'] ?? 'auto';
const SLOW_LOOKUPS = Number(process.env['BENCH_SLOW_LOOKUPS'] ?? 200);
const SLOW_CONCURRENCY = Number(process.env['BENCH_SLOW_CONCURRENCY'] ?? 16);
const SLOW_DELAY_MS = 10_000;
const SLOW_DEADLINE_MS = 500;
const SLOW_TIMEOUT_MS = 400;
/** Latency allowed above lookup.deadlineMs for the slow-source test (HTTP, JSON, scheduling). */
const SLOW_MARGIN_MS = 100;
const WORKFLOWS = process.env['BENCH_WORKFLOWS'] !== '0';
const WF_CONNECTIONS = Number(process.env['BENCH_WF_CONNECTIONS'] ?? 16);
const WF_WARMUP = Number(process.env['BENCH_WF_WARMUP'] ?? 2);
const WF_DURATION = Number(process.env['BENCH_WF_DURATION'] ?? 10);
/** Request bodies prepared for the healthy-target load; every 10th is an exact repeat of a recent call. */
const WF_BODIES = Number(process.env['BENCH_WF_BODIES'] ?? 60_000);
const WF_DOWN_CALLS = Number(process.env['BENCH_WF_DOWN_CALLS'] ?? 10_000);
const WF_DOWN_CONTACTS = 50;
const WF_DOWN_CONCURRENCY = Number(process.env['BENCH_WF_DOWN_CONCURRENCY'] ?? 8);
/** answerBudgetMs while the target is down: 0, else every post waits the whole budget (see the probe). */
const WF_DOWN_BUDGET_MS = Number(process.env['BENCH_WF_DOWN_BUDGET_MS'] ?? 0);
const WF_DRAIN_LIMIT_MS = Number(process.env['BENCH_WF_DRAIN_LIMIT'] ?? 300) * 1000;
/** Short retries, so that the drain starts soon after the target is back (defaults: 5 s and 1 h). */
const WF_DELIVERY = { answerBudgetMs: 1500, backoffBaseMs: 1000, backoffMaxMs: 5000, concurrency: 4 };
/** Enough attempts that nothing goes dead while the target is down (the default is 12). */
const WF_MAX_ATTEMPTS = 1000;
const WF_PROBE_CALLS = 8;
const TOKEN = randomBytes(24).toString('hex');
/** The whole run is cut off after this long, whatever it is doing. */
const RUN_LIMIT_MS = 45 * 60_000;

const TARGETS = {
  ratio: 0.6,
  p99Ms: 10,
  serverRssMb: 300,
  importRowsPerSecond: 40_000,
};

// ---------------------------------------------------------------------------------------------------
// Child processes: each in its own process group, killed (group-wide, by its own pid) on every way out.

const children = new Set();

function start(name, command, args, options = {}) {
  const child = spawn(command, args, { cwd: ROOT, detached: true, ...options });
  child.benchName = name;
  children.add(child);
  child.exited = new Promise((resolvePromise) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolvePromise({ code, signal });
    });
    child.once('error', (error) => {
      children.delete(child);
      resolvePromise({ code: null, signal: null, error });
    });
  });
  return child;
}

function signalGroup(child, signal) {
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

async function stop(child, graceMs = 5000) {
  if (child.exitCode !== null || child.signalCode !== null) return child.exited;
  signalGroup(child, 'SIGTERM');
  const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
  const result = await child.exited;
  clearTimeout(timer);
  return result;
}

function killAll() {
  for (const child of children) signalGroup(child, 'SIGKILL');
}

/** Set while the PostgreSQL table exists: dropped synchronously (psql) on the ways out without await. */
let tableToDrop = null;
function emergencyCleanup() {
  killAll();
  if (tableToDrop) {
    const dropped = pgBench.dropTableSync(tableToDrop);
    process.stderr.write(
      `bench: ${dropped ? 'dropped' : 'could not drop'} PostgreSQL table ${pgBench.TABLE}\n`,
    );
    tableToDrop = null;
  }
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    process.stderr.write(`\nbench: ${signal}, stopping children\n`);
    emergencyCleanup();
    process.exit(130);
  });
}
setTimeout(() => {
  process.stderr.write(`bench: run limit of ${RUN_LIMIT_MS / 60_000} min reached, giving up\n`);
  emergencyCleanup();
  process.exit(3);
}, RUN_LIMIT_MS).unref();

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms / 1000} s`)), ms);
    }),
  ]);
}

function log(message) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

// ---------------------------------------------------------------------------------------------------
// 1. Contacts.

/** Small deterministic PRNG (mulberry32). */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = (
  'Anna,Lukas,Sophie,Noah,Mia,Leon,Lea,Elias,Laura,Jonas,Léa,Luca,Chiara,Matteo,Julia,Felix,' +
  'Sarah,David,Lena,Simon,Nina,Marco,Sandra,Thomas,Andrea,Stefan,Martina,Peter,Claudia,' +
  'Daniel,Maximilian,Hannah,Emma,Paul,Jakob,Valentina,François,Chloé,Nicolò,Jürg,Ursula,Beat,' +
  'René,Zoë,Heidi,Urs,Reto,Corinne,Jörg,Sören,Gülsen,Aleksandar,Fatima,Mehmet'
).split(',');
const LAST = (
  'Müller,Meier,Schmid,Keller,Weber,Huber,Schneider,Meyer,Steiner,Fischer,Gerber,Brunner,' +
  'Baumann,Frei,Zimmermann,Moser,Widmer,Wyss,Graf,Roth,Bauer,Wagner,Becker,Schulz,Hoffmann,' +
  'Koch,Richter,Wolf,Schröder,Neumann,Gruber,Pichler,Hofer,Eder,Lang,Berger,Fuchs,Weiss,' +
  "Rossi,Bianchi,Dubois,Favre,Rochat,Bühler,Käser,Zürcher,Lüthi,von Allmen,De Luca,D'Amico," +
  'Yılmaz,Petrović,Nguyen,Schäfer,Krämer,Öztürk'
).split(',');
const COMPANY_FORMS = [
  (l) => `${l} AG`,
  (l) => `${l} & Partner GmbH`,
  (l) => `Treuhand ${l}`,
  (l) => `Bäckerei ${l}`,
  (l, l2) => `${l}, ${l2} & Co.`,
  (l) => `${l} Immobilien AG`,
  (l) => `Garage ${l} "Zentrum"`,
  (l) => `Praxis Dr. ${l}`,
  (l) => `${l} Elektro GmbH`,
  (l) => `${l} Sanitär KG`,
];

/** "21:7 22:7" → [["21", 7], ["22", 7]]: area code (national, without the trunk 0) and subscriber digits. */
const areas = (text) => text.split(' ').map((entry) => [entry.split(':')[0], Number(entry.split(':')[1])]);

/** Numbering plans used. `miss`: valid numbers in area codes that no contact uses. */
const PLANS = {
  CH: {
    cc: '41',
    fixed: areas('21:7 22:7 24:7 26:7 27:7 41:7 43:7 44:7 52:7 55:7 56:7 61:7 62:7 71:7 81:7 91:7'),
    mobile: areas('76:7 77:7 78:7 79:7'),
    miss: areas('31:7 32:7 33:7 34:7 75:7'),
  },
  DE: {
    cc: '49',
    fixed: areas('30:8 40:8 89:8 69:7 211:7'),
    mobile: areas('151:8 152:8 171:7 176:8'),
    miss: areas('221:7 711:7 172:7'),
  },
  AT: {
    cc: '43',
    fixed: areas('1:7 316:6 512:6 662:6'),
    mobile: areas('664:7 676:7 699:8 650:7'),
    miss: areas('463:6 732:6 660:7'),
  },
};

/**
 * The k-th number of a plan list: area k mod n, and a subscriber number that is a bijection of
 * floor(k / n) over 2…9 followed by digits, so that no two k give the same number.
 */
function planNumber(list, k) {
  const index = k % list.length;
  const [area, length] = list[index];
  const j = Math.floor(k / list.length);
  const span = 8 * 10 ** (length - 1);
  if (j >= span) throw new Error(`numbering plan exhausted for area ${area}`);
  const subscriber = String(2 * 10 ** (length - 1) + ((j * 7919 + 104_729 + index * 1_234_567) % span));
  return { area, subscriber };
}

/** Groups digits the way people write them: "552 20 00", "1234 5678", "123 45 67". */
function grouped(subscriber, style) {
  const s = subscriber;
  if (style === 'ch' && s.length === 7) return `${s.slice(0, 3)} ${s.slice(3, 5)} ${s.slice(5)}`;
  if (s.length === 8) return `${s.slice(0, 4)} ${s.slice(4)}`;
  if (s.length === 7) return `${s.slice(0, 3)} ${s.slice(3)}`;
  return `${s.slice(0, 3)} ${s.slice(3)}`;
}

function formatCH(area, subscriber, pick) {
  const g = grouped(subscriber, 'ch');
  switch (pick) {
    case 0:
      return `0${area} ${g}`;
    case 1:
      return `+41 ${area} ${g}`;
    case 2:
      return `0041 (0)${area} ${g}`;
    case 3:
      return `+41 (0)${area} ${g}`;
    case 4:
      return `0${area}${subscriber}`;
    case 5:
      return `0${area}/${g}`;
    case 6:
      return `+41${area}${subscriber}`;
    default:
      return `0${area} ${g} ext. ${10 + (pick % 90)}`;
  }
}

function formatDE(area, subscriber, pick) {
  const g = grouped(subscriber, 'de');
  switch (pick) {
    case 0:
      return `0${area}/${subscriber}`;
    case 1:
      return `+49 (0)${area} ${g}`;
    case 2:
      return `0${area} ${g}`;
    case 3:
      return `0049 ${area} ${subscriber}`;
    case 4:
      return `+49 ${area} ${subscriber.slice(0, 4)}-${subscriber.slice(4)}`;
    case 5:
      return `0${area} / ${subscriber}`;
    case 6:
      return `+49${area}${subscriber}`;
    default:
      return `0${area}-${subscriber} DW ${10 + (pick % 90)}`;
  }
}

function formatAT(area, subscriber, pick) {
  const g = grouped(subscriber, 'at');
  switch (pick) {
    case 0:
      return `0${area} ${g}`;
    case 1:
      return `+43 ${area} ${g}`;
    case 2:
      return `0043 (0)${area} ${subscriber}`;
    case 3:
      return `0${area}/${subscriber}`;
    case 4:
      return `+43 (0) ${area} ${g}`;
    case 5:
      return `0${area}${subscriber}`;
    case 6:
      return `+43${area}${subscriber}`;
    default:
      return `0${area} ${g} Durchwahl ${10 + (pick % 90)}`;
  }
}

const FORMAT = { CH: formatCH, DE: formatDE, AT: formatAT };

function csvField(value) {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

function ascii(text) {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ı/g, 'i')
    .replace(/[^a-zA-Z]/g, '')
    .toLowerCase();
}

async function generateContacts() {
  const meta = { contacts: CONTACTS, seed: SEED, version: 1 };
  if (process.env['BENCH_REUSE_CSV'] === '1' && existsSync(CSV) && existsSync(CSV_META)) {
    const previous = JSON.parse(readFileSync(CSV_META, 'utf8'));
    if (previous.contacts === meta.contacts && previous.seed === meta.seed && previous.version === 1) {
      log(`reusing ${CSV} (BENCH_REUSE_CSV=1)`);
      return previous;
    }
  }
  const started = performance.now();
  const random = prng(SEED);
  const int = (n) => Math.floor(random() * n);
  const counters = { CH: { fixed: 0, mobile: 0 }, DE: { fixed: 0, mobile: 0 }, AT: { fixed: 0, mobile: 0 } };
  const hitEvery = Math.floor(CONTACTS / HITS);
  const hits = [];
  let numbers = 0;

  const out = createWriteStream(CSV, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const write = async (text) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  await write('id,first_name,last_name,company,phone,mobile,email,country\n');

  let chunk = '';
  for (let i = 0; i < CONTACTS; i++) {
    const r = random();
    const country = r < 0.5 ? 'CH' : r < 0.8 ? 'DE' : 'AT';
    const plan = PLANS[country];
    const format = FORMAT[country];
    const first = FIRST[int(FIRST.length)];
    const last = LAST[int(LAST.length)];
    const companyRoll = random();
    const company =
      companyRoll < 0.3 ? '' : COMPANY_FORMS[int(COMPANY_FORMS.length)](LAST[int(LAST.length)], last);

    const main = planNumber(plan.fixed, counters[country].fixed++);
    // 1 in 20 written with an extension (formats 7+), the rest spread over the common forms.
    const mainPick = random() < 0.05 ? 7 + int(90) : int(7);
    const phone = format(main.area, main.subscriber, mainPick);
    numbers++;

    // ~85% one mobile, ~5% two in the mobile field, ~10% none.
    let mobile = '';
    let mobileDigits;
    const mobileRoll = random();
    if (mobileRoll < 0.9) {
      const m = planNumber(plan.mobile, counters[country].mobile++);
      mobileDigits = plan.cc + m.area + m.subscriber;
      mobile = format(m.area, m.subscriber, int(7));
      numbers++;
      if (mobileRoll >= 0.85) {
        const m2 = planNumber(plan.mobile, counters[country].mobile++);
        mobile +=
          random() < 0.5
            ? ` / ${format(m2.area, m2.subscriber, 0)}`
            : `; ${format(m2.area, m2.subscriber, 1)}`;
        mobileDigits = undefined; // keep the known hits simple: single-number fields only
        numbers++;
      }
    }

    const id = `c${String(i).padStart(7, '0')}`;
    const domain = company
      ? `${ascii(company.split(/[ ,]/)[0]) || 'firma'}.${country.toLowerCase()}`
      : 'example.org';
    const email = `${ascii(first)}.${ascii(last)}${i % 97}@${domain}`;
    // Most rows name their country; some Swiss ones leave it to the default region (CH).
    const countryField =
      country === 'CH' && random() < 0.2 ? '' : random() < 0.1 ? country.toLowerCase() : country;

    chunk += `${id},${csvField(first)},${csvField(last)},${csvField(company)},${csvField(phone)},${csvField(mobile)},${email},${countryField}\n`;

    if (i % hitEvery === hitEvery - 1 && hits.length < HITS) {
      // One in five known hits is looked up by its mobile number, the rest by the main number.
      const byMobile = hits.length % 5 === 4 && mobileDigits !== undefined;
      hits.push({
        number: byMobile ? mobileDigits : plan.cc + main.area + main.subscriber,
        id,
        name: `${first} ${last}`,
        by: byMobile ? 'mobile' : 'phone',
        written: byMobile ? mobile : phone,
      });
    }
    if (chunk.length > 1 << 20) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  out.end();
  await once(out, 'finish');

  // Misses: valid numbers in area codes that no contact uses, spread over the three countries.
  const misses = [];
  const missCounters = { CH: 0, DE: 0, AT: 0 };
  for (let i = 0; i < MISSES; i++) {
    const country = i % 10 < 5 ? 'CH' : i % 10 < 8 ? 'DE' : 'AT';
    const plan = PLANS[country];
    const m = planNumber(plan.miss, missCounters[country]++ * 37 + 11);
    misses.push(plan.cc + m.area + m.subscriber);
  }

  const seconds = (performance.now() - started) / 1000;
  const result = {
    ...meta,
    numbers,
    bytes: statSync(CSV).size,
    seconds: Math.round(seconds * 10) / 10,
    hitsFile: join(WORK, 'hits.json'),
    missesFile: join(WORK, 'misses.json'),
  };
  await writeFile(result.hitsFile, JSON.stringify(hits));
  await writeFile(result.missesFile, JSON.stringify(misses));
  await writeFile(CSV_META, JSON.stringify(result));
  return result;
}

// ---------------------------------------------------------------------------------------------------
// 2. Import.

async function importContacts() {
  rmSync(DATA, { recursive: true, force: true });
  mkdirSync(DATA, { recursive: true });
  const timeFile = join(WORK, 'import.time.txt');
  rmSync(timeFile, { force: true });
  const useTime = existsSync('/usr/bin/time');
  const args = [CLI, 'import', CSV, '--replace'];
  const env = { ...process.env, CALLCARD_DATA_DIR: DATA, CALLCARD_LOG_LEVEL: 'warn' };
  delete env['CALLCARD_CONFIG'];
  let stdout = '';
  let stderr = '';
  const started = performance.now();
  const child = useTime
    ? start('import', '/usr/bin/time', ['-v', '-o', timeFile, NODE, ...args], { env })
    : start('import', NODE, args, { env });
  child.stdout.on('data', (data) => {
    stdout += data;
  });
  child.stderr.on('data', (data) => {
    if (stderr.length < 100_000) stderr += data;
  });
  const { code, signal } = await withTimeout(child.exited, 15 * 60_000, 'import').catch(async (error) => {
    await stop(child);
    throw error;
  });
  const wallSeconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`import failed (${code ?? signal}):\n${stdout}\n${stderr.slice(-4000)}`);

  const line = stdout.trim().split('\n').at(-1) ?? '';
  const cliPeak = /peak RSS (\d+) MB/.exec(line);
  const cliRate = /(\d+) rows\/s/.exec(line);
  const imported = /imported (\d+) of (\d+)/.exec(line);
  const skippedLines = stderr
    .split('\n')
    .filter((l) => l.includes('skipped'))
    .slice(0, 5);
  let peakRssMb = cliPeak ? Number(cliPeak[1]) : null;
  let peakFrom = 'CLI output';
  if (useTime && existsSync(timeFile)) {
    const text = readFileSync(timeFile, 'utf8');
    const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
    if (kb) {
      peakRssMb = Math.round(Number(kb[1]) / 1024);
      peakFrom = '/usr/bin/time -v';
    }
  }
  const dbBytes = readdirSync(DATA)
    .filter((f) => f.startsWith('contacts.db'))
    .reduce((sum, f) => sum + statSync(join(DATA, f)).size, 0);
  return {
    cliLine: line,
    rows: imported ? Number(imported[2]) : null,
    imported: imported ? Number(imported[1]) : null,
    skippedSample: skippedLines,
    wallSeconds: Math.round(wallSeconds * 100) / 100,
    rowsPerSecond: Math.round(CONTACTS / wallSeconds),
    cliRowsPerSecond: cliRate ? Number(cliRate[1]) : null,
    peakRssMb,
    peakRssFrom: peakFrom,
    cliPeakRssMb: cliPeak ? Number(cliPeak[1]) : null,
    dbMb: Math.round(dbBytes / 2 ** 20),
  };
}

// ---------------------------------------------------------------------------------------------------
// HTTP helpers (127.0.0.1 only).

function httpCall(port, method, path, body, headers = {}, timeoutMs = 5000, agent = false) {
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest(
      {
        host: HOST,
        port,
        method,
        path,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        agent,
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (data) => {
          text += data;
        });
        res.on('end', () => resolvePromise({ status: res.statusCode, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

function portInUse(port) {
  return new Promise((resolvePromise) => {
    const socket = connect({ host: HOST, port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(true);
    });
    socket.once('error', () => resolvePromise(false));
  });
}

async function waitHealthy(child, port, limitMs = 60_000) {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${child.benchName} exited before answering /healthz`);
    try {
      const { status } = await httpCall(port, 'GET', '/healthz');
      if (status === 200) return Math.round(performance.now() - started);
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${child.benchName}: /healthz did not answer within ${limitMs / 1000} s`);
}

function procStatus(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => {
      const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
      return m ? Math.round(Number(m[1]) / 1024) : null;
    };
    return { vmRssMb: kb('VmRSS'), vmHwmMb: kb('VmHWM') };
  } catch {
    return { vmRssMb: null, vmHwmMb: null };
  }
}

// ---------------------------------------------------------------------------------------------------
// 3–4. Servers and load.

/**
 * Starts `callcard serve`. Options: `config` (a YAML file, passed as --config), `dataDir` (DATA).
 * With logTo 'pipe', the log lines (JSON) are counted: `sourceFailures` of the returned object counts
 * the "source failed" warnings by status, with a few samples.
 */
async function startCallcard(logLevel, logTo, options = {}) {
  if (await portInUse(CALLCARD_PORT)) throw new Error(`port ${CALLCARD_PORT} is already in use`);
  const config = options.config ?? (HAS_LIMITS ? await writeConfig('defaults', {}) : undefined);
  const env = {
    ...process.env,
    CALLCARD_DATA_DIR: options.dataDir ?? DATA,
    CALLCARD_TOKEN: TOKEN,
    CALLCARD_LOG_LEVEL: logLevel,
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
    `callcard (${logLevel})`,
    NODE,
    [CLI, 'serve', '--port', String(CALLCARD_PORT), '--host', HOST, ...(config ? ['--config', config] : [])],
    { env, stdio: ['ignore', logTo, 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (data) => {
    if (stderr.length < 20_000) stderr += data;
  });
  const sourceFailures = { total: 0, byStatus: {}, samples: [] };
  if (logTo === 'pipe') {
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (data) => {
      const lines = (partial + data).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.includes('"source failed"')) continue;
        sourceFailures.total++;
        try {
          const entry = JSON.parse(line);
          sourceFailures.byStatus[entry.status] = (sourceFailures.byStatus[entry.status] ?? 0) + 1;
          if (sourceFailures.samples.length < 3) sourceFailures.samples.push(`${entry.status}: ${entry.err}`);
        } catch {
          // a line cut by the pipe: counted, not classified
        }
      }
    });
  }
  try {
    const startupMs = await waitHealthy(child, CALLCARD_PORT);
    return { child, startupMs, idle: procStatus(child.pid), sourceFailures };
  } catch (error) {
    await stop(child);
    throw new Error(`${error.message}\n${stderr}`);
  }
}

async function startBare(bodyFile) {
  if (await portInUse(BARE_PORT)) throw new Error(`port ${BARE_PORT} is already in use`);
  const child = start('bare', NODE, [join(ROOT, 'bench', 'bare.js')], {
    env: { ...process.env, BARE_PORT: String(BARE_PORT), BARE_BODY_FILE: bodyFile },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitHealthy(child, BARE_PORT);
  return child;
}

const lookupBody = (number) => JSON.stringify({ inputs: { phoneNumber: number } });

/**
 * Checks hits and misses one by one, unloaded, before any load (at most CHECK_BUDGET_MS, then it
 * stops with what it has checked); returns a typical hit answer body and the unloaded latencies.
 */
const CHECK_SAMPLE = 500;
const CHECK_BUDGET_MS = 60_000;

async function checkCorrectness(hits, misses) {
  const lookup = (number) =>
    httpCall(CALLCARD_PORT, 'POST', '/Lookup', lookupBody(number), { 'X-Execution-Token': TOKEN }, 30_000);
  const unauthorized = await httpCall(CALLCARD_PORT, 'POST', '/Lookup', lookupBody(hits[0].number));
  const problems = [];
  if (unauthorized.status !== 401) problems.push(`no token: status ${unauthorized.status}, expected 401`);
  // Spread over the list: phone and mobile numbers, every country and format.
  const step = Math.max(1, Math.floor(hits.length / CHECK_SAMPLE));
  const sampleHits = hits.filter((_, i) => i % step === 0).slice(0, CHECK_SAMPLE);
  const sampleMisses = misses.filter((_, i) => i % step === 0).slice(0, CHECK_SAMPLE);
  const bodies = [];
  const hitMs = [];
  const missMs = [];
  const started = performance.now();
  let budgetHit = false;
  for (let i = 0; i < Math.max(sampleHits.length, sampleMisses.length); i++) {
    if (performance.now() - started > CHECK_BUDGET_MS) {
      budgetHit = true;
      break;
    }
    const hit = sampleHits[i];
    if (hit) {
      const t0 = performance.now();
      const { status, body } = await lookup(hit.number);
      hitMs.push(performance.now() - t0);
      let contacts;
      try {
        contacts = JSON.parse(body);
      } catch {
        contacts = undefined;
      }
      if (status !== 200 || !Array.isArray(contacts)) {
        problems.push(`hit ${hit.number}: status ${status}, body ${body.slice(0, 200)}`);
      } else if (contacts.length !== 1 || contacts[0].id !== hit.id || contacts[0].name !== hit.name) {
        problems.push(
          `hit ${hit.number} (written "${hit.written}"): expected ${hit.id} ${hit.name}, got ${body.slice(0, 300)}`,
        );
      } else {
        bodies.push(body);
      }
    }
    const miss = sampleMisses[i];
    if (miss) {
      const t0 = performance.now();
      const { status, body } = await lookup(miss);
      missMs.push(performance.now() - t0);
      if (status !== 200 || body !== '[]')
        problems.push(`miss ${miss}: status ${status}, body ${body.slice(0, 200)}`);
    }
  }
  bodies.sort((a, b) => a.length - b.length);
  const median = (list) => {
    if (list.length === 0) return null;
    const sorted = [...list].sort((a, b) => a - b);
    return Math.round(sorted[Math.floor(sorted.length / 2)] * 100) / 100;
  };
  return {
    checkedHits: hitMs.length,
    checkedMisses: missMs.length,
    stoppedByTimeBudget: budgetHit,
    failures: problems.length,
    problems: problems.slice(0, 10),
    unloadedMedianMs: { hit: median(hitMs), miss: median(missMs) },
    typicalHitBody: bodies[Math.floor(bodies.length / 2)] ?? null,
  };
}

/**
 * CPU time of the machine in clock ticks (/proc/stat): processes (user + nice + system), interrupts
 * (irq + softirq: the loopback network mostly), steal (taken by the hypervisor), busy and total.
 */
function machineTicks() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    const processes = user + nice + system;
    return {
      processes,
      interrupts: irq + softirq,
      steal,
      busy: processes + irq + softirq + steal,
      total: processes + idle + iowait + irq + softirq + steal,
    };
  } catch {
    return null;
  }
}

/** CPU time (user + system) of one process, in clock ticks (/proc/<pid>/stat). */
function processTicks(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

/**
 * Other work on the machine skews every figure here (2 cores for server and loader). Waits, at most
 * QUIET_WAIT_MS, for a second in which the machine is less than QUIET_BUSY_PERCENT busy; returns
 * what it saw, so that the summary can tell a noisy run.
 */
const QUIET_WAIT_MS = Number(process.env['BENCH_QUIET_WAIT'] ?? 60) * 1000;
const QUIET_BUSY_PERCENT = 15;

async function waitForQuiet(label) {
  const started = performance.now();
  let busyPercent = null;
  while (performance.now() - started < QUIET_WAIT_MS) {
    const a = machineTicks();
    await new Promise((r) => setTimeout(r, 1000));
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

/** Options: `path` (/Lookup), `connections`, `warmupSeconds`, `durationSeconds` (the run's settings by default). */
async function runLoad(port, bodiesFile, label, serverPid, options = {}) {
  const path = options.path ?? '/Lookup';
  const connections = options.connections ?? CONNECTIONS;
  const warmup = options.warmupSeconds ?? WARMUP;
  const duration = options.durationSeconds ?? DURATION;
  const quiet = await waitForQuiet(label);
  const jobFile = join(WORK, `load-${label}.json`);
  await writeFile(
    jobFile,
    JSON.stringify({
      url: `http://${HOST}:${port}`,
      path,
      headers: { 'X-Execution-Token': TOKEN },
      bodiesFile,
      connections,
      warmupSeconds: warmup,
      durationSeconds: duration,
      timeoutSeconds: 10,
    }),
  );
  log(`load ${label}: POST ${path}, ${connections} connections, ${warmup} s warm-up + ${duration} s`);
  const child = start(`load ${label}`, NODE, [join(ROOT, 'bench', 'load.js'), jobFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let before;
  child.stdout.on('data', (data) => {
    stdout += data;
    if (!before && stdout.includes('MEASURE_START\n')) {
      before = { at: performance.now(), machine: machineTicks(), server: processTicks(serverPid) };
    }
  });
  child.stderr.on('data', (data) => {
    if (stderr.length < 20_000) stderr += data;
  });
  // Sampled when the measured run ends (its result line arrives), before the loader has exited.
  let after;
  const onEnd = (data) => {
    if (before && !after && String(data).includes('"requests"')) {
      after = { at: performance.now(), machine: machineTicks(), server: processTicks(serverPid) };
    }
  };
  child.stdout.on('data', onEnd);
  const { code, signal } = await withTimeout(
    child.exited,
    (warmup + duration + 60) * 1000,
    `load ${label}`,
  ).catch(async (error) => {
    await stop(child);
    throw error;
  });
  if (code !== 0) throw new Error(`load ${label} failed (${code ?? signal}): ${stderr.slice(-4000)}`);
  const result = JSON.parse(stdout.trim().split('\n').at(-1));
  result.machineBusyBeforePercent = quiet.busyPercent;
  result.waitedForQuietMs = quiet.waitedMs;
  // Where the 2 cores went during the measured run, in % of one core: server, loader, everything else.
  if (before?.machine && after?.machine && before.server !== null && after.server !== null) {
    const seconds = (after.at - before.at) / 1000;
    const hz = (after.machine.total - before.machine.total) / seconds / cpus().length; // ticks per core-second
    const pct = (ticks) => Math.round((ticks / hz / seconds) * 1000) / 10;
    const delta = (name) => pct(after.machine[name] - before.machine[name]);
    const server = pct(after.server - before.server);
    result.cpuPercent = {
      server,
      loader: result.loaderCpuPercent,
      // Everything else but steal: other processes, and interrupts (loopback network) not charged to
      // the two (the kernel charges part of them to both, so this can dip slightly below zero).
      others:
        Math.round((delta('processes') + delta('interrupts') - server - result.loaderCpuPercent) * 10) / 10,
      interrupts: delta('interrupts'),
      steal: delta('steal'),
      machineBusy: delta('busy'),
      machineCapacity: cpus().length * 100,
    };
    // Server CPU time per answered request: unlike req/s, barely moved by steal or other load.
    result.serverCpuMicrosPerRequest = Math.round(
      (((after.server - before.server) / hz) * 1e6) / Math.max(1, result.requests),
    );
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------
// 5. Sources beside the embedded store: live SQL, a slow source, a mirror sync (PostgreSQL, 127.0.0.1).

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const round = (value, digits = 2) =>
  value === null || value === undefined ? null : Math.round(value * 10 ** digits) / 10 ** digits;

/** The table as a callcard sql source maps it; `country` is read as the row's region (its column role). */
const TABLE_MAPPING = {
  name: pgBench.TABLE,
  id: 'id',
  firstName: 'first_name',
  lastName: 'last_name',
  company: 'company',
  phones: ['phone', 'mobile'],
  updatedAt: 'updated_at',
  custom: { email: 'email', country: 'country' },
};

/**
 * The live cache "effectively off". Not `{ttlMs: 0, missTtlMs: 0}`: the schema accepts 0, but the cache
 * (lru-cache) reads a TTL of 0 as "never expires" (checkTtlZero shows it). 1 ms TTLs and a single entry
 * leave a repeat no chance with thousands of numbers cycling.
 */
const LIVE_CACHE_OFF = { ttlMs: 1, missTtlMs: 1, maxEntries: 1 };
const LIVE_CACHE_DEFAULT = { ttlMs: 300_000, missTtlMs: 30_000, maxEntries: 10_000 };

/**
 * The load comes from one address with one token: rate limits (in builds that have them) are lifted,
 * or the runs would measure 429 answers.
 */
const HAS_LIMITS = existsSync(join(DIST, 'http', 'limits.js'));
const NO_LIMITS = { perAddress: { max: 1_000_000_000 }, perToken: { max: 1_000_000_000 } };

/** Writes a config file (JSON, which is YAML) into the work dir. */
async function writeConfig(name, config) {
  const file = join(WORK, `${name}.yaml`);
  const full = HAS_LIMITS ? { limits: NO_LIMITS, ...config } : config;
  await writeFile(file, `${JSON.stringify(full, null, 2)}\n`);
  return file;
}

function freshDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}

function cliEnv(dataDir) {
  const env = { ...process.env, CALLCARD_DATA_DIR: dataDir, CALLCARD_LOG_LEVEL: 'warn' };
  for (const name of ['CALLCARD_CONFIG', 'CALLCARD_TOKEN', 'CALLCARD_TOKEN_FILE']) delete env[name];
  return env;
}

/** Runs a CLI command to its end (under /usr/bin/time -v when there is one): output, wall time, peak RSS. */
async function runCli(label, args, env, limitMs) {
  const timeFile = join(WORK, `${label}.time.txt`);
  rmSync(timeFile, { force: true });
  const useTime = existsSync('/usr/bin/time');
  let stdout = '';
  let stderr = '';
  const started = performance.now();
  const child = useTime
    ? start(label, '/usr/bin/time', ['-v', '-o', timeFile, NODE, ...args], { env })
    : start(label, NODE, args, { env });
  child.stdout.on('data', (data) => {
    if (stdout.length < 1_000_000) stdout += data;
  });
  child.stderr.on('data', (data) => {
    if (stderr.length < 100_000) stderr += data;
  });
  const { code, signal } = await withTimeout(child.exited, limitMs, label).catch(async (error) => {
    await stop(child);
    throw error;
  });
  const wallSeconds = (performance.now() - started) / 1000;
  let peakRssMb = null;
  if (useTime && existsSync(timeFile)) {
    const kb = /Maximum resident set size \(kbytes\): (\d+)/.exec(readFileSync(timeFile, 'utf8'));
    if (kb) peakRssMb = Math.round(Number(kb[1]) / 1024);
  }
  return {
    code: code ?? signal,
    stdout,
    stderr,
    wallSeconds,
    peakRssMb,
    peakRssFrom: useTime ? '/usr/bin/time -v' : null,
  };
}

/** Runs one part; its failure is recorded in the results and the rest of the run goes on. */
async function section(name, work) {
  try {
    return await work();
  } catch (error) {
    log(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

function shuffled(length, seed) {
  const order = Array.from({ length }, (_, i) => i);
  const random = prng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/** a. callcard with one live SQL source, loaded like the embedded run: with the default cache, and without. */
async function runLiveSql(pg, hits, misses) {
  // Live search reads phone_e164, the main number only: hits looked up by a mobile number are left out.
  const sqlHits = hits.filter((hit) => hit.by === 'phone');
  const inTable = await pgBench.countE164(
    pg,
    sqlHits.map((hit) => `+${hit.number}`),
  );
  if (inTable !== sqlHits.length)
    throw new Error(`only ${inTable} of ${sqlHits.length} hit numbers are in phone_e164`);
  const order = shuffled(sqlHits.length, SEED + 2);
  const bodies = [];
  for (let i = 0; i < order.length; i++) {
    bodies.push(lookupBody(sqlHits[order[i]].number), lookupBody(misses[i % misses.length]));
  }
  const bodiesFile = join(WORK, 'bodies-sql.json');
  await writeFile(bodiesFile, JSON.stringify(bodies));
  const distinctNumbers = new Set(bodies).size;
  const source = (cache) => ({
    type: 'sql',
    name: 'crm',
    driver: 'postgres',
    mode: 'live',
    url: pgBench.pgUrl(PG_URL, 'callcard-bench-live'),
    table: TABLE_MAPPING,
    search: { column: 'phone_e164' },
    ...(cache && { cache }),
  });
  const result = { hits: sqlHits.length, hitsInTable: inTable, distinctNumbers, runs: {} };
  for (const [label, cache] of [
    ['cacheDefault', undefined],
    ['cacheOff', LIVE_CACHE_OFF],
  ]) {
    freshDir(DATA_LIVE);
    const config = await writeConfig(`live-sql-${label}`, { sources: [source(cache)] });
    const before = await pgBench.indexScans(pg);
    log(`starting callcard with a live SQL source (${label})`);
    const server = await startCallcard('warn', 'pipe', { config, dataDir: DATA_LIVE });
    let run;
    try {
      const check = await checkCorrectness(sqlHits, misses);
      if (check.failures > 0)
        log(`live SQL check: ${check.failures} failures, e.g.:\n  ${check.problems.join('\n  ')}`);
      const { typicalHitBody, ...checkResult } = check;
      const load = await runLoad(CALLCARD_PORT, bodiesFile, `live-sql-${label}`, server.child.pid);
      run = {
        cache: cache ?? LIVE_CACHE_DEFAULT,
        startupMs: server.startupMs,
        idle: server.idle,
        end: procStatus(server.child.pid),
        check: {
          ...checkResult,
          typicalHitBodyBytes: typicalHitBody ? Buffer.byteLength(typicalHitBody) : null,
        },
        load,
      };
    } finally {
      await stop(server.child);
    }
    // Backends report their index scans when they end (callcard's pool closed on stop).
    await sleep(1500);
    const after = await pgBench.indexScans(pg);
    const lookups = run.check.checkedHits + run.check.checkedMisses + (run.load.requestsStarted ?? 0);
    run.lookupsSent = lookups;
    run.dbQueries = before !== null && after !== null ? after - before : null;
    run.dbQueriesPerLookup = run.dbQueries !== null ? round(run.dbQueries / lookups, 3) : null;
    run.timesEachNumberAsked = round((run.load.requestsStarted ?? 0) / distinctNumbers, 1);
    run.sourceFailures = server.sourceFailures;
    log(
      `live SQL (${label}): ${run.load.requestsPerSecond} req/s, p99 ${run.load.latencyMs.p99} ms, ` +
        `${run.dbQueriesPerLookup} DB queries per lookup, ${run.sourceFailures.total} source failures`,
    );
    result.runs[label] = run;
  }
  result.ttlZero = await section('ttlMs: 0 check', () => checkTtlZero(pg, sqlHits, misses, source));
  return result;
}

/** What `cache: {ttlMs: 0, missTtlMs: 0}` does: the same numbers twice, 2 s apart, DB queries counted. */
async function checkTtlZero(pg, sqlHits, misses, source) {
  const numbers = [...sqlHits.slice(0, 50).map((hit) => hit.number), ...misses.slice(0, 50)];
  freshDir(DATA_LIVE);
  const config = await writeConfig('live-sql-ttl0', {
    sources: [source({ ttlMs: 0, missTtlMs: 0 })],
  });
  const before = await pgBench.indexScans(pg);
  const server = await startCallcard('warn', 'pipe', { config, dataDir: DATA_LIVE });
  let bad = 0;
  const pauseMs = 2000;
  try {
    for (let pass = 0; pass < 2; pass++) {
      if (pass > 0) await sleep(pauseMs);
      for (const number of numbers) {
        const { status } = await httpCall(CALLCARD_PORT, 'POST', '/Lookup', lookupBody(number), {
          'X-Execution-Token': TOKEN,
        });
        if (status !== 200) bad++;
      }
    }
  } finally {
    await stop(server.child);
  }
  await sleep(1500);
  const after = await pgBench.indexScans(pg);
  const dbQueries = before !== null && after !== null ? after - before : null;
  return {
    schemaAccepts: true,
    numbers: numbers.length,
    lookups: 2 * numbers.length,
    pauseMs,
    non200: bad,
    dbQueries,
    // One query per number: the second pass, well after both TTLs of 0 ms, came from the cache.
    zeroMeansForever: dbQueries === numbers.length,
  };
}

function restAvailable() {
  try {
    return readFileSync(join(DIST, 'sources', 'registry.js'), 'utf8').includes('createRestSource');
  } catch {
    return false;
  }
}

/** b. A source that answers in 10 s beside the healthy embedded store, under a 500 ms deadline. */
async function runSlowSource(pg, hits, misses) {
  const variant = SLOW_SOURCE === 'auto' ? (restAvailable() ? 'rest' : 'sql') : SLOW_SOURCE;
  if (variant === 'rest' && !restAvailable()) throw new Error(`${DIST} has no rest source`);
  if (variant === 'sql' && !pg) throw new Error('PostgreSQL is not reachable');
  if (variant !== 'rest' && variant !== 'sql')
    throw new Error(`BENCH_SLOW_SOURCE=${variant}: rest, sql or auto`);
  const slowApp = 'callcard-bench-slow';
  const slowSource =
    variant === 'rest'
      ? {
          type: 'rest',
          name: 'slow',
          mode: 'live',
          timeoutMs: SLOW_TIMEOUT_MS,
          baseUrl: `http://${HOST}:${SLOW_PORT}`,
          search: { request: { url: '/contacts/search', query: { number: '{e164}' } } },
          fields: { id: 'id', name: 'name', phones: ['phone'] },
        }
      : {
          type: 'sql',
          name: 'slow',
          driver: 'postgres',
          mode: 'live',
          timeoutMs: SLOW_TIMEOUT_MS,
          url: pgBench.pgUrl(PG_URL, slowApp),
          query: `SELECT id, first_name, last_name, phone FROM ${pgBench.TABLE}`,
          search: {
            query:
              "SELECT CAST(:e164 AS text) AS id, 'Slow Source Contact' AS name, CAST(:e164 AS text) AS phone " +
              'FROM pg_sleep(10) LIMIT :limit',
          },
        };
  const config = await writeConfig('slow-source', {
    lookup: { deadlineMs: SLOW_DEADLINE_MS },
    sources: [{ type: 'embedded', name: 'contacts' }, slowSource],
  });
  // Hits spread over the list (every kind of number), misses between them.
  const sample = [];
  const step = Math.max(1, Math.floor(hits.length / Math.ceil(SLOW_LOOKUPS / 2)));
  for (let i = 0; sample.length < SLOW_LOOKUPS; i++) {
    sample.push({ number: hits[(i * step) % hits.length].number, hit: hits[(i * step) % hits.length] });
    if (sample.length < SLOW_LOOKUPS) sample.push({ number: misses[i % misses.length] });
  }
  if (await portInUse(SLOW_PORT)) throw new Error(`port ${SLOW_PORT} is already in use`);
  const slowServer = variant === 'rest' ? await startSlowServer(SLOW_PORT, SLOW_DELAY_MS) : null;
  const result = {
    variant,
    slowSource:
      variant === 'rest'
        ? 'rest source, local HTTP API sleeping 10 s'
        : 'sql source, search query FROM pg_sleep(10)',
    deadlineMs: SLOW_DEADLINE_MS,
    slowTimeoutMs: SLOW_TIMEOUT_MS,
    marginMs: SLOW_MARGIN_MS,
  };
  let server;
  try {
    log(
      `starting callcard with the embedded store and a slow ${variant} source (deadline ${SLOW_DEADLINE_MS} ms)`,
    );
    server = await startCallcard('warn', 'pipe', { config, dataDir: DATA });
    result.sequential = await slowLookups(sample, 1);
    result.concurrent = await slowLookups(sample, SLOW_CONCURRENCY);
    result.sourceFailures = server.sourceFailures;
  } finally {
    if (server) await stop(server.child);
    if (slowServer) {
      result.slowServer = { ...slowServer.stats };
      await slowServer.close();
    }
    if (variant === 'sql' && pg) {
      result.leftOverBackendsTerminated = await pgBench.terminateBackends(pg, slowApp).catch(() => null);
    }
  }
  const runs = [result.sequential, result.concurrent];
  result.pass = {
    allStatus200: runs.every((r) => r.non200 === 0 && r.errors === 0),
    maxBelowDeadline: runs.every((r) => r.latencyMs.max < SLOW_DEADLINE_MS + SLOW_MARGIN_MS),
    healthyHits: runs.every((r) => r.hitsWithHealthyContact === r.hits && r.missesEmpty === r.misses),
    noSlowContact: runs.every((r) => r.slowContactsSeen === 0),
  };
  log(
    `slow source: max ${result.sequential.latencyMs.max} ms sequential, ${result.concurrent.latencyMs.max} ms ` +
      `with ${SLOW_CONCURRENCY} concurrent; pass ${JSON.stringify(result.pass)}`,
  );
  return result;
}

async function slowLookups(sample, concurrency) {
  const times = [];
  const problems = [];
  const counts = {
    non200: 0,
    errors: 0,
    hits: 0,
    hitsWithHealthyContact: 0,
    misses: 0,
    missesEmpty: 0,
    slowContactsSeen: 0,
  };
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < sample.length) {
      const item = sample[next++];
      const t0 = performance.now();
      let answer;
      try {
        answer = await httpCall(
          CALLCARD_PORT,
          'POST',
          '/Lookup',
          lookupBody(item.number),
          { 'X-Execution-Token': TOKEN },
          5000,
        );
      } catch (error) {
        counts.errors++;
        if (problems.length < 5) problems.push(`${item.number}: ${error.message}`);
        continue;
      }
      times.push(performance.now() - t0);
      if (answer.status !== 200) {
        counts.non200++;
        if (problems.length < 5) problems.push(`${item.number}: status ${answer.status}`);
        continue;
      }
      let contacts = [];
      try {
        contacts = JSON.parse(answer.body);
      } catch {
        // counted below as a wrong answer
      }
      if (
        Array.isArray(contacts) &&
        contacts.some((c) => String(c.id).startsWith('slow-') || c.name === 'Slow Source Contact')
      )
        counts.slowContactsSeen++;
      if (item.hit) {
        counts.hits++;
        if (Array.isArray(contacts) && contacts[0]?.id === item.hit.id && contacts[0]?.name === item.hit.name)
          counts.hitsWithHealthyContact++;
        else if (problems.length < 5) problems.push(`hit ${item.number}: ${answer.body.slice(0, 200)}`);
      } else {
        counts.misses++;
        if (answer.body === '[]') counts.missesEmpty++;
        else if (problems.length < 5) problems.push(`miss ${item.number}: ${answer.body.slice(0, 200)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const sorted = [...times].sort((a, b) => a - b);
  const at = (p) =>
    sorted.length > 0 ? round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]) : null;
  return {
    lookups: sample.length,
    concurrency,
    ...counts,
    latencyMs: {
      min: round(sorted[0] ?? null),
      p50: at(0.5),
      p99: at(0.99),
      max: round(sorted.at(-1) ?? null),
    },
    wallSeconds: round((performance.now() - started) / 1000),
    problems,
  };
}

/** c. `callcard sync <name> --full` of the whole table into a fresh index. */
async function runMirrorSync(hits) {
  freshDir(DATA_MIRROR);
  const name = 'crm-mirror';
  const config = await writeConfig('mirror-sql', {
    sources: [
      {
        type: 'sql',
        name,
        driver: 'postgres',
        mode: 'mirror',
        url: pgBench.pgUrl(PG_URL, 'callcard-bench-mirror'),
        table: TABLE_MAPPING,
      },
    ],
  });
  log(`callcard sync ${name} --full (PostgreSQL table into a fresh index)`);
  const run = await runCli(
    'sync',
    [CLI, 'sync', name, '--full', '--config', config],
    cliEnv(DATA_MIRROR),
    20 * 60_000,
  );
  if (run.code !== 0)
    throw new Error(`sync failed (${run.code}):\n${run.stdout}\n${run.stderr.slice(-4000)}`);
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  const m = /(\d+) read, (\d+) written, (\d+) removed, (\d+) skipped, ([\d.]+) s \((\d+) rows\/s\)/.exec(
    line,
  );
  // The mirror answers like the embedded store: a main number and a mobile number.
  const checks = [];
  for (const hit of [hits.find((h) => h.by === 'phone'), hits.find((h) => h.by === 'mobile')].filter(
    Boolean,
  )) {
    const lookup = await runCli(
      'lookup',
      [CLI, 'lookup', hit.number, '--config', config],
      cliEnv(DATA_MIRROR),
      60_000,
    );
    let ok = false;
    try {
      const answer = JSON.parse(lookup.stdout);
      ok = answer[0]?.id === hit.id && answer[0]?.name === hit.name;
    } catch {
      ok = false;
    }
    checks.push({ number: hit.number, by: hit.by, ok });
  }
  const dbBytes = readdirSync(DATA_MIRROR)
    .filter((f) => f.startsWith('contacts.db'))
    .reduce((sum, f) => sum + statSync(join(DATA_MIRROR, f)).size, 0);
  return {
    source: `${name} (sql, driver postgres, table ${pgBench.TABLE}, mode mirror)`,
    cliLine: line,
    read: m ? Number(m[1]) : null,
    written: m ? Number(m[2]) : null,
    skipped: m ? Number(m[4]) : null,
    cliSeconds: m ? Number(m[5]) : null,
    cliRowsPerSecond: m ? Number(m[6]) : null,
    wallSeconds: round(run.wallSeconds),
    rowsPerSecond: m ? Math.round(Number(m[1]) / run.wallSeconds) : null,
    peakRssMb: run.peakRssMb,
    peakRssFrom: run.peakRssFrom,
    dbMb: Math.round(dbBytes / 2 ** 20),
    lookupChecks: checks,
  };
}

async function runSourceBenchmarks(hits, misses) {
  const out = { pgUrl: PG_URL };
  let pg = null;
  try {
    pgBench.assertLocal(PG_URL);
    pg = await withTimeout(pgBench.connect(PG_URL), 15_000, 'PostgreSQL connect');
  } catch (error) {
    out.pgError = error instanceof Error ? error.message : String(error);
    log(`PostgreSQL not usable (${out.pgError}): live SQL and mirror sync skipped`);
  }
  try {
    if (pg) {
      tableToDrop = PG_URL;
      log(`loading ${CONTACTS.toLocaleString('en-US')} contacts into PostgreSQL table ${pgBench.TABLE}`);
      out.table = await section('PostgreSQL load', () =>
        withTimeout(
          pgBench.loadTable(pg, { csvFile: CSV, distDir: DIST, log }),
          20 * 60_000,
          'PostgreSQL load',
        ),
      );
      if (!out.table.error)
        log(
          `PostgreSQL: ${out.table.rows} rows in ${out.table.loadSeconds} s, index ${out.table.indexSeconds} s`,
        );
    }
    const tableReady = pg && out.table && !out.table.error;
    const why = pg ? 'the PostgreSQL table could not be loaded' : 'PostgreSQL not reachable';
    out.liveSql = tableReady
      ? await section('live SQL', () => runLiveSql(pg, hits, misses))
      : { skipped: why };
    out.slowSource = await section('slow source', () => runSlowSource(pg, hits, misses));
    out.mirrorSync = tableReady ? await section('mirror sync', () => runMirrorSync(hits)) : { skipped: why };
  } finally {
    if (pg) {
      try {
        await pgBench.terminateBackends(pg, 'callcard-bench-slow');
        await pgBench.dropTable(pg);
        tableToDrop = null;
        log(`dropped PostgreSQL table ${pgBench.TABLE}`);
      } catch (error) {
        log(`could not drop ${pgBench.TABLE}: ${error.message}`);
      }
      await pg.end().catch(() => {});
    }
    if (tableToDrop && pgBench.dropTableSync(tableToDrop)) tableToDrop = null;
    rmSync(DATA_LIVE, { recursive: true, force: true });
    rmSync(DATA_MIRROR, { recursive: true, force: true });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// 6. Workflows: CallFlow with a webhook action, through the durable outbox, to a local target.

/** The webhook target's control and statistics (bench/hook.js). */
async function hookCall(method, path) {
  const { status, body } = await httpCall(HOOK_PORT, method, path, undefined, {}, 5000);
  if (status !== 200) throw new Error(`webhook target ${method} ${path}: status ${status}`);
  return JSON.parse(body);
}

async function startHook() {
  if (await portInUse(HOOK_PORT)) throw new Error(`port ${HOOK_PORT} is already in use`);
  const child = start('webhook target', NODE, [join(ROOT, 'bench', 'hook.js')], {
    env: { ...process.env, HOOK_PORT: String(HOOK_PORT) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitHealthy(child, HOOK_PORT);
  return child;
}

/** An empty call journal and outbox in the served data dir (callcard not running). */
function freshCalls() {
  for (const file of existsSync(DATA) ? readdirSync(DATA) : []) {
    if (file.startsWith('calls.db')) rmSync(join(DATA, file), { force: true });
  }
}

function workflowConfig(name, answerBudgetMs) {
  return writeConfig(name, {
    workflows: {
      CallFlow: {
        actions: [
          {
            type: 'webhook',
            url: `http://${HOST}:${HOOK_PORT}/hook`,
            response: { id: 'id', url: 'url' },
            maxAttempts: WF_MAX_ATTEMPTS,
          },
        ],
      },
    },
    delivery: { ...WF_DELIVERY, answerBudgetMs },
  });
}

/** `callcard outbox --config ...`: the count of deliveries per status (its last line). */
async function outboxCounts(config) {
  const run = await runCli(
    'outbox',
    [CLI, 'outbox', '--status', 'dead', '--limit', '3', '--config', config],
    cliEnv(DATA),
    60_000,
  );
  const m = /(\d+) pending, (\d+) running, (\d+) done, (\d+) dead/.exec(run.stdout);
  if (run.code !== 0 || !m)
    throw new Error(
      `callcard outbox failed (${run.code}): ${run.stdout.slice(-1000)}${run.stderr.slice(-2000)}`,
    );
  const [pending, running, done, dead] = m.slice(1).map(Number);
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
async function outboxSettled(config, limitMs) {
  const started = performance.now();
  for (;;) {
    const counts = await outboxCounts(config);
    const waitedMs = Math.round(performance.now() - started);
    if (counts.pending + counts.running === 0 || waitedMs > limitMs) return { ...counts, waitedMs };
    await sleep(1000);
  }
}

const isoSeconds = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');

/** A CallFlow request as the CONNECTOR sends it; `benchSeq` is a field callcard passes on as it came. */
function callBody({ number, contactId, at, seq, tag }) {
  return JSON.stringify({
    inputs: {
      direction: 'incoming',
      originatorNumber: number,
      destinationNumber: '41445556677',
      userCrmId: 'u1',
      ...(contactId && { contactCrmId: contactId }),
      startedTime: isoSeconds(at),
      answeredTime: isoSeconds(at + 5000),
      endedTime: isoSeconds(at + 65_000),
      ...(seq !== undefined && { benchSeq: seq }),
      benchRun: tag,
    },
  });
}

/**
 * Bodies for the healthy-target load: distinct calls (a known contact's number with its contactCrmId,
 * or an unknown number, alternately; each its own start time), every 10th an exact repeat of one of
 * the 200 calls before it (the CONNECTOR's repeated CallFlow; the recent ones may still be running).
 */
function healthyBodies(hits, misses) {
  const random = prng(SEED + 7);
  const base = Date.UTC(2026, 0, 1);
  const distinct = [];
  const bodies = [];
  for (let i = 0; i < WF_BODIES; i++) {
    if (i % 10 === 9 && distinct.length > 0) {
      bodies.push(distinct[distinct.length - 1 - Math.floor(random() * Math.min(distinct.length, 200))]);
      continue;
    }
    const d = distinct.length;
    const hit = d % 2 === 0 ? hits[(d / 2) % hits.length] : undefined;
    const body = callBody({
      number: hit ? hit.number : misses[((d - 1) / 2) % misses.length],
      contactId: hit?.id,
      at: base + d * 1000,
      tag: 'healthy',
    });
    distinct.push(body);
    bodies.push(body);
  }
  return bodies;
}

/** POSTs every body to /CallFlow, `concurrency` at a time on keep-alive connections. */
async function postCalls(bodies, concurrency) {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: concurrency });
  const times = [];
  const byStatus = {};
  const problems = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++];
      const t0 = performance.now();
      try {
        const answer = await httpCall(
          CALLCARD_PORT,
          'POST',
          '/CallFlow',
          body,
          { 'X-Execution-Token': TOKEN },
          10_000,
          agent,
        );
        times.push(performance.now() - t0);
        byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
        if (answer.status !== 200 && problems.length < 5)
          problems.push(`status ${answer.status}: ${answer.body.slice(0, 200)}`);
      } catch (error) {
        errors++;
        if (problems.length < 5) problems.push(error.message);
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
  const at = (p) =>
    sorted.length > 0 ? round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]) : null;
  return {
    posted: bodies.length,
    concurrency,
    seconds: round(seconds),
    postsPerSecond: round(bodies.length / seconds, 1),
    status200: byStatus[200] ?? 0,
    byStatus,
    errors,
    problems,
    latencyMs: { p50: at(0.5), p99: at(0.99), max: round(sorted.at(-1) ?? null) },
  };
}

/** One new call, then the same again: the target's record in the answer, one id, one delivery. */
async function callFlowAnswerCheck(misses) {
  const body = callBody({ number: misses[0], at: Date.UTC(2027, 0, 1), tag: 'check' });
  const post = () =>
    httpCall(CALLCARD_PORT, 'POST', '/CallFlow', body, { 'X-Execution-Token': TOKEN }, 10_000);
  const parse = (answer) => {
    try {
      return JSON.parse(answer.body);
    } catch {
      return {};
    }
  };
  const before = await hookCall('GET', '/_bench/stats');
  const first = await post();
  const again = await post();
  await sleep(500);
  const after = await hookCall('GET', '/_bench/stats');
  const a = parse(first);
  const b = parse(again);
  const check = {
    statuses: [first.status, again.status],
    id: a.id ?? null,
    url: a.url ?? null,
    urlIsTargetRecord: typeof a.url === 'string' && a.url.startsWith(`http://${HOST}:${HOOK_PORT}/records/`),
    repeatSameIdAndUrl: a.id !== undefined && a.id === b.id && a.url === b.url,
    newKeysAtTarget: after.distinctKeys - before.distinctKeys,
    extraReceiptsAtTarget: after.extraReceipts - before.extraReceipts,
  };
  check.ok =
    first.status === 200 &&
    again.status === 200 &&
    check.urlIsTargetRecord &&
    check.repeatSameIdAndUrl &&
    check.newKeysAtTarget === 1 &&
    check.extraReceiptsAtTarget === 0;
  return check;
}

/** A few new calls while the target answers 503: how long the CONNECTOR waits for each answer. */
async function downProbe(misses) {
  await hookCall('POST', '/_bench/status/503');
  try {
    const base = Date.UTC(2027, 1, 1);
    const bodies = Array.from({ length: WF_PROBE_CALLS }, (_, i) =>
      callBody({ number: misses[(i + 1) % misses.length], at: base + i * 1000, tag: 'probe' }),
    );
    return await postCalls(bodies, 4);
  } finally {
    await hookCall('POST', '/_bench/status/200');
  }
}

/** a. POST /CallFlow under load (autocannon, own process), the target answering at once. */
async function runCallFlowHealthy(hits, misses) {
  await hookCall('POST', '/_bench/status/200');
  await hookCall('POST', '/_bench/reset');
  freshCalls();
  const config = await workflowConfig('workflow-healthy', WF_DELIVERY.answerBudgetMs);
  const bodies = healthyBodies(hits, misses);
  const bodiesFile = join(WORK, 'bodies-callflow.json');
  await writeFile(bodiesFile, JSON.stringify(bodies));
  const result = {
    delivery: { ...WF_DELIVERY },
    maxAttempts: WF_MAX_ATTEMPTS,
    connections: WF_CONNECTIONS,
    warmupSeconds: WF_WARMUP,
    durationSeconds: WF_DURATION,
    bodiesPrepared: bodies.length,
  };
  log('starting callcard with CallFlow -> webhook (target answering at once)');
  const server = await startCallcard('warn', 'ignore', { config, dataDir: DATA });
  try {
    result.startupMs = server.startupMs;
    result.load = await runLoad(CALLCARD_PORT, bodiesFile, 'callflow', server.child.pid, {
      path: '/CallFlow',
      connections: WF_CONNECTIONS,
      warmupSeconds: WF_WARMUP,
      durationSeconds: WF_DURATION,
    });
    result.end = procStatus(server.child.pid);
    // Every request of the run, warm-up included, made or found a delivery: count them all.
    const started = result.load.requestsStarted;
    result.requestsStarted = started;
    result.bodiesCycled = started > bodies.length;
    result.distinctCallsSent = new Set(bodies.slice(0, Math.min(started, bodies.length))).size;
    result.exactRepeatsSent = started - result.distinctCallsSent;
    log(
      `CallFlow: ${result.load.requestsPerSecond} answers/s, p99 ${result.load.latencyMs.p99} ms; ` +
        `${result.distinctCallsSent} distinct calls + ${result.exactRepeatsSent} repeats sent; waiting for the outbox`,
    );
    result.outbox = await outboxSettled(config, 60_000);
    result.target = await hookCall('GET', '/_bench/stats');
    result.answerCheck = await callFlowAnswerCheck(misses);
    result.downProbe = await downProbe(misses);
  } finally {
    await stop(server.child);
  }
  const { outbox, target, load } = result;
  result.pass = {
    noNon2xx: load.non2xx + load.errors + load.timeouts === 0,
    // The last requests (at most one per connection) may have been cut off before callcard had them.
    allDelivered:
      outbox.done === outbox.total &&
      outbox.total <= result.distinctCallsSent &&
      outbox.total >= result.distinctCallsSent - WF_CONNECTIONS &&
      target.distinctKeys === outbox.done,
    noDuplicates: target.keysTwice === 0,
    answerCheck: result.answerCheck.ok,
  };
  log(
    `CallFlow: outbox ${outbox.done} done / ${outbox.total}, target ${target.distinctKeys} keys, ` +
      `${target.keysTwice} twice; pass ${JSON.stringify(result.pass)}`,
  );
  return result;
}

/** b. 10,000 calls while the target answers 503, then the target back: the drain, exactly once, in order. */
async function runCallFlowDown(hits) {
  if (hits.length < WF_DOWN_CONTACTS) throw new Error(`needs ${WF_DOWN_CONTACTS} known contacts`);
  await hookCall('POST', '/_bench/status/503');
  await hookCall('POST', '/_bench/reset');
  freshCalls();
  const config = await workflowConfig('workflow-down', WF_DOWN_BUDGET_MS);
  const contacts = Array.from(
    { length: WF_DOWN_CONTACTS },
    (_, k) => hits[Math.floor((k * hits.length) / WF_DOWN_CONTACTS)],
  );
  const base = Date.UTC(2026, 6, 1);
  // Call i is for contact i mod 50, its seq-th call: the seq grows in the order they are posted.
  const bodies = Array.from({ length: WF_DOWN_CALLS }, (_, i) => {
    const contact = contacts[i % contacts.length];
    return callBody({
      number: contact.number,
      contactId: contact.id,
      at: base + i * 1000,
      seq: Math.floor(i / contacts.length),
      tag: 'down',
    });
  });
  // Fewer posts at once than contacts: a contact's next call is posted after its previous one was answered.
  const concurrency = Math.max(1, Math.min(WF_DOWN_CONCURRENCY, contacts.length - 1));
  const result = {
    calls: WF_DOWN_CALLS,
    contacts: contacts.length,
    delivery: { ...WF_DELIVERY, answerBudgetMs: WF_DOWN_BUDGET_MS },
    maxAttempts: WF_MAX_ATTEMPTS,
  };
  log('starting callcard with CallFlow -> webhook (target down: 503)');
  const server = await startCallcard('warn', 'ignore', { config, dataDir: DATA });
  try {
    result.startupMs = server.startupMs;
    log(
      `target down: posting ${WF_DOWN_CALLS} distinct calls of ${contacts.length} contacts, ${concurrency} at a time`,
    );
    result.posting = await postCalls(bodies, concurrency);
    log(
      `posted in ${result.posting.seconds} s (${result.posting.postsPerSecond}/s), ${result.posting.status200} x 200`,
    );
    result.outboxBeforeUp = await outboxCounts(config);
    result.targetWhileDown = await hookCall('GET', '/_bench/stats');
    const up = await hookCall('POST', '/_bench/status/200');
    const upAt = up.statusSince;
    log('target up (200): waiting for every delivery');
    let stats;
    let lastLog = Date.now();
    for (;;) {
      stats = await hookCall('GET', '/_bench/stats');
      if (stats.distinctKeys >= WF_DOWN_CALLS) break;
      if (Date.now() - upAt > WF_DRAIN_LIMIT_MS) {
        result.drainTimedOut = true;
        log(
          `drain: only ${stats.distinctKeys} of ${WF_DOWN_CALLS} after ${WF_DRAIN_LIMIT_MS / 1000} s, giving up`,
        );
        break;
      }
      if (Date.now() - lastLog > 10_000) {
        log(`drain: ${stats.distinctKeys} of ${WF_DOWN_CALLS} delivered`);
        lastLog = Date.now();
      }
      await sleep(250);
    }
    result.outboxAfter = await outboxSettled(config, 30_000);
    result.target = await hookCall('GET', '/_bench/stats');
    result.end = procStatus(server.child.pid);
    const t = result.target;
    const complete = t.distinctKeys >= WF_DOWN_CALLS && t.lastNewKeyAt !== null;
    result.drain = {
      firstDeliveryAfterUpMs: t.first200At !== null ? t.first200At - upAt : null,
      allDeliveredAfterUpMs: complete ? t.lastNewKeyAt - upAt : null,
      deliveriesPerSecond:
        complete && t.lastNewKeyAt > t.first200At
          ? round(t.distinctKeys / ((t.lastNewKeyAt - t.first200At) / 1000), 1)
          : null,
    };
  } finally {
    await stop(server.child);
  }
  const { posting, outboxBeforeUp, outboxAfter, target, targetWhileDown } = result;
  result.pass = {
    acceptedAll: posting.status200 === WF_DOWN_CALLS && posting.errors === 0,
    nothingDeliveredWhileDown: targetWhileDown.distinctKeys === 0,
    noneDead: outboxBeforeUp.dead === 0 && outboxAfter.dead === 0,
    allDelivered: target.distinctKeys === WF_DOWN_CALLS && outboxAfter.done === WF_DOWN_CALLS,
    noDuplicates: target.keysTwice === 0,
    orderKept: target.orderViolations === 0 && target.orderChecked === WF_DOWN_CALLS,
  };
  log(
    `drain: first delivery ${result.drain.firstDeliveryAfterUpMs} ms after up, all ${result.drain.allDeliveredAfterUpMs} ms; ` +
      `pass ${JSON.stringify(result.pass)}`,
  );
  return result;
}

async function runWorkflowBenchmarks(hits, misses) {
  const out = {};
  let hook;
  try {
    hook = await startHook();
    out.healthy = await section('CallFlow, healthy target', () => runCallFlowHealthy(hits, misses));
    out.down = await section('CallFlow, target down', () => runCallFlowDown(hits));
  } finally {
    if (hook) await stop(hook);
    freshCalls();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// 7. Summary.

const mark = (ok) => (ok === null ? ' n/a' : ok ? 'PASS' : 'FAIL');

/** Summary rows of step 5 (live SQL, slow source, mirror sync). */
function sourceRows(results, row, ms, rps, cpu, perRequest) {
  const sources = results.sources;
  if (!sources) return;
  if (sources.skipped) {
    row('sources beside the embedded store', `skipped (${sources.skipped})`);
    return;
  }
  const failed = (part) =>
    part?.error ? `failed: ${part.error.slice(0, 160)}` : `skipped (${part?.skipped})`;
  const table = sources.table;
  if (table && !table.error) {
    row(
      'PostgreSQL table load (not callcard)',
      `${table.rows.toLocaleString('en-US')} rows in ${table.loadSeconds} s (${table.rowsPerSecond.toLocaleString('en-US')} rows/s, ` +
        `E.164 keys ${table.e164Seconds} s), index ${table.indexSeconds} s, ${table.tableMb} MB`,
    );
  } else if (table?.error) row('PostgreSQL table load', failed(table));

  const live = sources.liveSql;
  if (live?.runs) {
    const cacheText = (cache) => `ttl ${cache.ttlMs}/${cache.missTtlMs} ms, ${cache.maxEntries} entries`;
    for (const [label, title] of [
      ['cacheOff', 'live SQL, cache off'],
      ['cacheDefault', 'live SQL, default cache'],
    ]) {
      const run = live.runs[label];
      if (!run) continue;
      row(
        `${title}: req/s (ratio to embedded)`,
        `${rps(run.load.requestsPerSecond)} (${run.ratioToEmbedded?.toFixed(3)})`,
      );
      row(`${title}: p50 / p99`, `${ms(run.load.latencyMs.p50)} / ${ms(run.load.latencyMs.p99)}`);
      row(
        `${title}: DB queries per lookup`,
        `${run.dbQueriesPerLookup ?? 'n/a'} (${run.dbQueries?.toLocaleString('en-US')} index scans / ` +
          `${run.lookupsSent.toLocaleString('en-US')} lookups; each of ${live.distinctNumbers.toLocaleString('en-US')} ` +
          `numbers asked ~${run.timesEachNumberAsked}x; ${cacheText(run.cache)})`,
      );
      row(
        `${title}: check, failures in load`,
        `${run.check.checkedHits} hits + ${run.check.checkedMisses} misses checked, ${run.check.failures} failures; ` +
          `${run.sourceFailures.total} source timeouts/errors, ${run.load.non2xx} non-2xx, ${run.load.errors} errors`,
        '0',
        run.check.failures === 0 && run.sourceFailures.total === 0 && run.load.non2xx + run.load.errors === 0,
      );
      row(
        `${title}: server CPU/request, CPU`,
        `${perRequest(run.load)}; ${cpu(run.load)} (other: PostgreSQL)`,
      );
    }
    const zero = live.ttlZero;
    if (zero && !zero.error) {
      row(
        'live cache {ttlMs: 0, missTtlMs: 0}',
        `accepted; ${zero.lookups} lookups of ${zero.numbers} numbers, ${zero.pauseMs / 1000} s apart: ${zero.dbQueries} DB queries` +
          (zero.zeroMeansForever ? ' -> 0 means "cached forever", not "off"' : ''),
      );
    } else if (zero?.error) row('live cache {ttlMs: 0}', failed(zero));
  } else row('live SQL source', failed(live));

  const slow = sources.slowSource;
  if (slow?.pass) {
    for (const run of [slow.sequential, slow.concurrent]) {
      const title = `slow ${slow.variant} source + embedded, ${run.concurrency === 1 ? 'sequential' : `${run.concurrency} concurrent`}`;
      row(
        `${title}: status`,
        `${run.lookups} lookups: ${run.lookups - run.non200 - run.errors} x 200, ${run.non200} other, ${run.errors} errors`,
        'all 200',
        run.non200 + run.errors === 0,
      );
      row(
        `${title}: latency min/p50/max`,
        `${ms(run.latencyMs.min)} / ${ms(run.latencyMs.p50)} / ${ms(run.latencyMs.max)}`,
        `max < ${slow.deadlineMs + slow.marginMs} ms`,
        run.latencyMs.max < slow.deadlineMs + slow.marginMs,
      );
      row(
        `${title}: healthy answers`,
        `${run.hitsWithHealthyContact}/${run.hits} hits with the embedded contact, ${run.missesEmpty}/${run.misses} misses [], ` +
          `${run.slowContactsSeen} slow cards`,
        'all',
        run.hitsWithHealthyContact === run.hits &&
          run.missesEmpty === run.misses &&
          run.slowContactsSeen === 0,
      );
    }
    if (slow.slowServer) {
      row(
        'slow source: requests it got',
        `${slow.slowServer.requests} (${slow.slowServer.closedBeforeAnswer} cut off by callcard, ${slow.slowServer.answered} answered)`,
      );
    }
  } else row('slow source beside embedded', failed(slow));

  const mirror = sources.mirrorSync;
  if (mirror?.cliLine) {
    row(
      'mirror sync --full (PostgreSQL -> index)',
      `${mirror.rowsPerSecond?.toLocaleString('en-US')} rows/s wall (${mirror.wallSeconds} s); CLI: ${mirror.cliRowsPerSecond?.toLocaleString('en-US')} rows/s`,
    );
    row(
      'mirror sync rows, lookups after',
      `${mirror.read?.toLocaleString('en-US')} read, ${mirror.written?.toLocaleString('en-US')} written, ${mirror.skipped} skipped; ` +
        mirror.lookupChecks.map((check) => `${check.by} ${check.ok ? 'ok' : 'WRONG'}`).join(', '),
      'all written',
      mirror.written === results.config.CONTACTS && mirror.lookupChecks.every((check) => check.ok),
    );
    row(
      'mirror sync peak RSS',
      `${mirror.peakRssMb} MB (${mirror.peakRssFrom ?? 'n/a'}), index ${mirror.dbMb} MB`,
    );
  } else row('mirror sync', failed(mirror));
}

/** Lines above the table that say how step 5 was run. */
function sourceNotes(results) {
  const sources = results.sources;
  if (!sources || sources.skipped) return [];
  const notes = [];
  const live = sources.liveSql;
  if (live?.runs) {
    notes.push(
      `live SQL: callcard with one source {type: sql, driver: postgres, mode: live, search: {column: phone_e164}}; ` +
        `${live.hits.toLocaleString('en-US')} hits (main numbers only) / as many misses, same load as the embedded run; ` +
        'ratio against the embedded (log warn) req/s of this run',
    );
  }
  const slow = sources.slowSource;
  if (slow?.pass) {
    notes.push(
      `slow source: ${slow.slowSource}, timeoutMs ${slow.slowTimeoutMs}, beside the embedded store; lookup.deadlineMs ${slow.deadlineMs}`,
    );
  }
  if (sources.mirrorSync?.cliLine) notes.push(`mirror sync CLI said: ${sources.mirrorSync.cliLine}`);
  return notes;
}

/** Summary rows of step 6 (CallFlow with a webhook action). */
function workflowRows(results, row, ms, cpu, perRequest) {
  const wf = results.workflows;
  if (!wf) return;
  if (wf.skipped || wf.error) {
    row(
      'workflows (CallFlow -> webhook)',
      wf.skipped ? `skipped (${wf.skipped})` : `failed: ${wf.error.slice(0, 160)}`,
    );
    return;
  }
  const num = (n) => (n === null || n === undefined ? 'n/a' : n.toLocaleString('en-US'));
  const sec = (msValue) =>
    msValue === null || msValue === undefined ? 'n/a' : `${(msValue / 1000).toFixed(1)} s`;
  const a = wf.healthy;
  if (a?.pass) {
    const title = 'CallFlow, target up';
    row(
      `${title}: answers/s @ ${a.connections} conn`,
      `${num(Math.round(a.load.requestsPerSecond))} answers/s`,
    );
    row(`${title}: p50 / p99`, `${ms(a.load.latencyMs.p50)} / ${ms(a.load.latencyMs.p99)}`);
    row(
      `${title}: non-2xx / errors / timeouts`,
      `${a.load.non2xx} / ${a.load.errors} / ${a.load.timeouts}`,
      '0',
      a.pass.noNon2xx,
    );
    row(
      `${title}: deliveries done / calls`,
      `${num(a.outbox.done)} done of ${num(a.outbox.total)} calls callcard took (${a.outbox.pending + a.outbox.running} open, ` +
        `${a.outbox.dead} dead); ${num(a.distinctCallsSent)} distinct calls + ${num(a.exactRepeatsSent)} exact repeats sent` +
        (a.bodiesCycled ? ' (bodies list cycled)' : ''),
      'all done',
      a.pass.allDelivered,
    );
    row(
      `${title}: target keys / received twice`,
      `${num(a.target.distinctKeys)} distinct Idempotency-Keys (= deliveries done), ${a.target.keysTwice} received twice ` +
        `(${a.target.extraReceipts} extra receipts)`,
      '= done, 0 twice',
      a.pass.allDelivered && a.pass.noDuplicates,
    );
    row(`${title}: server CPU/request, CPU`, `${perRequest(a.load)}; ${cpu(a.load)} (other: the target)`);
    row(`${title}: server RSS end / peak`, `${a.end.vmRssMb} / ${a.end.vmHwmMb} MB`);
    const check = a.answerCheck;
    row(
      'CallFlow answer url, exact repeat',
      `${check.urlIsTargetRecord ? "the target's record" : `not the target's record: ${check.url}`}; repeat ` +
        `${check.repeatSameIdAndUrl ? 'same id and url' : 'DIFFERENT'}, ${check.newKeysAtTarget} delivery`,
      'record, 1 delivery',
      check.ok,
    );
    const probe = a.downProbe;
    row(
      'CallFlow answer while the target is down',
      `p50 ${ms(probe.latencyMs.p50)}, max ${ms(probe.latencyMs.max)} (${probe.posted} calls, ${probe.concurrency} at a time, ` +
        `answerBudgetMs ${a.delivery.answerBudgetMs}); ${probe.status200} x 200`,
    );
  } else row('CallFlow, target up', a?.error ? `failed: ${a.error.slice(0, 160)}` : 'n/a');

  const b = wf.down;
  if (b?.pass) {
    const title = 'CallFlow, target down';
    row(
      `${title}: ${num(b.calls)} posts accepted`,
      `${b.posting.seconds} s (${num(Math.round(b.posting.postsPerSecond))} posts/s, ${b.posting.concurrency} at a time, ` +
        `p99 ${ms(b.posting.latencyMs.p99)}); ${num(b.posting.status200)} x 200, ${b.posting.errors} errors`,
      'all 200',
      b.pass.acceptedAll,
    );
    row(
      `${title}: outbox before up`,
      `${num(b.outboxBeforeUp.pending + b.outboxBeforeUp.running)} open, ${b.outboxBeforeUp.dead} dead; ` +
        `${num(b.targetWhileDown.byStatus['503'] ?? 0)} attempts refused (503)`,
      '0 dead',
      b.pass.noneDead && b.pass.nothingDeliveredWhileDown,
    );
    row(
      'target back up: drain',
      `first delivery ${sec(b.drain.firstDeliveryAfterUpMs)} after up, all ${sec(b.drain.allDeliveredAfterUpMs)} after up ` +
        `(${num(b.drain.deliveriesPerSecond)} deliveries/s)` +
        (b.drainTimedOut ? `, STOPPED at ${WF_DRAIN_LIMIT_MS / 1000} s` : ''),
      `< ${WF_DRAIN_LIMIT_MS / 1000} s`,
      !b.drainTimedOut && b.drain.allDeliveredAfterUpMs !== null,
    );
    row(
      'target back up: keys / twice / outbox',
      `${num(b.target.distinctKeys)} distinct keys, ${b.target.keysTwice} received twice; outbox ${num(b.outboxAfter.done)} done, ` +
        `${b.outboxAfter.pending + b.outboxAfter.running} open, ${b.outboxAfter.dead} dead`,
      `${num(b.calls)}, 0 twice`,
      b.pass.allDelivered && b.pass.noDuplicates && b.pass.noneDead,
    );
    row(
      'target back up: order per contact',
      `${b.target.orderViolations} out of order (${num(b.target.orderChecked)} deliveries checked, ${b.target.contacts} contacts)`,
      '0',
      b.pass.orderKept,
    );
  } else row('CallFlow, target down', b?.error ? `failed: ${b.error.slice(0, 160)}` : 'n/a');
}

/** Lines above the table that say how step 6 was run. */
function workflowNotes(results) {
  const wf = results.workflows;
  if (!wf || wf.skipped || wf.error) return [];
  const d = WF_DELIVERY;
  return [
    `workflows: CallFlow -> webhook to a local node:http target (own process, answers 200 {"id","url"} at once), ` +
      `callcard serving the imported contacts; delivery concurrency ${d.concurrency}, maxAttempts ${WF_MAX_ATTEMPTS}, ` +
      `backoffBaseMs ${d.backoffBaseMs} / backoffMaxMs ${d.backoffMaxMs} (short, so the drain starts soon after the target ` +
      'is back; defaults 5000 / 3600000)',
    `  target up: answerBudgetMs ${d.answerBudgetMs}; ${WF_CONNECTIONS} connections, ${WF_WARMUP} s warm-up + ${WF_DURATION} s, ` +
      'distinct calls (half of known contacts), every 10th request an exact repeat of a recent call',
    `  target down (503): ${WF_DOWN_CALLS.toLocaleString('en-US')} distinct calls of ${WF_DOWN_CONTACTS} contacts, ` +
      `answerBudgetMs ${WF_DOWN_BUDGET_MS} (with a budget, every answer waits all of it while the target is down: see the ` +
      "probe row); then the target answers 200 and the outbox drains; the target checks each contact's sequence",
  ];
}

function summarize(results) {
  const { csv, importRun, callcard, callcardInfo, bare } = results;
  const rows = [];
  const row = (metric, value, target = '', ok = null) =>
    rows.push([metric, String(value), target, target ? mark(ok) : '']);
  const ms = (v) => (v === null || v === undefined ? 'n/a' : `${v.toFixed(2)} ms`);
  const rps = (v) => `${Math.round(v).toLocaleString('en-US')} req/s`;

  row(
    'contacts generated',
    `${csv.contacts.toLocaleString('en-US')} (${csv.numbers.toLocaleString('en-US')} numbers, ${Math.round(csv.bytes / 2 ** 20)} MB CSV)`,
  );
  row(
    'import wall time',
    `${importRun.wallSeconds} s (CLI: ${importRun.cliRowsPerSecond?.toLocaleString('en-US')} rows/s)`,
  );
  row(
    'import rate (wall, incl. start-up)',
    `${importRun.rowsPerSecond.toLocaleString('en-US')} rows/s`,
    `>= ${TARGETS.importRowsPerSecond.toLocaleString('en-US')}`,
    importRun.rowsPerSecond >= TARGETS.importRowsPerSecond,
  );
  row('import peak RSS', `${importRun.peakRssMb} MB (${importRun.peakRssFrom})`);
  row('contacts.db size', `${importRun.dbMb} MB`);
  row(
    'correctness check (sequential)',
    `${results.check.checkedHits} hits + ${results.check.checkedMisses} misses, ${results.check.failures} failures` +
      (results.check.stoppedByTimeBudget ? ` (stopped at the ${CHECK_BUDGET_MS / 1000} s budget)` : ''),
    '0 failures',
    results.check.failures === 0,
  );
  row(
    'unloaded latency, median',
    `hit ${ms(results.check.unloadedMedianMs.hit)}, miss ${ms(results.check.unloadedMedianMs.miss)}`,
  );
  row('callcard req/s (log warn)', rps(callcard.load.requestsPerSecond));
  row('callcard p50', ms(callcard.load.latencyMs.p50));
  row(
    `callcard p99 @ ${CONNECTIONS} conn`,
    ms(callcard.load.latencyMs.p99),
    `< ${TARGETS.p99Ms} ms`,
    (callcard.load.latencyMs.p99 ?? Infinity) < TARGETS.p99Ms,
  );
  row(
    'callcard non-2xx / errors / timeouts',
    `${callcard.load.non2xx} / ${callcard.load.errors} / ${callcard.load.timeouts}`,
    '0',
    callcard.load.non2xx + callcard.load.errors + callcard.load.timeouts === 0,
  );
  row('server RSS end (VmRSS)', `${callcard.end.vmRssMb} MB (idle after start ${callcard.idle.vmRssMb} MB)`);
  row(
    'server peak RSS (VmHWM)',
    `${callcard.end.vmHwmMb} MB`,
    `< ${TARGETS.serverRssMb} MB`,
    callcard.end.vmHwmMb !== null && callcard.end.vmHwmMb < TARGETS.serverRssMb,
  );
  row('bare node:http req/s', rps(bare.load.requestsPerSecond));
  row('bare p50 / p99', `${ms(bare.load.latencyMs.p50)} / ${ms(bare.load.latencyMs.p99)}`);
  row('bare answer body', `${bare.bodyBytes} bytes`);
  row(
    'ratio callcard / bare',
    results.ratio.toFixed(3),
    `>= ${TARGETS.ratio}`,
    results.ratio >= TARGETS.ratio,
  );
  row('callcard req/s (log info > /dev/null)', rps(callcardInfo.load.requestsPerSecond));
  row(
    'callcard p50 / p99 (log info)',
    `${ms(callcardInfo.load.latencyMs.p50)} / ${ms(callcardInfo.load.latencyMs.p99)}`,
  );
  row(
    'cost of the info request log line',
    `${(results.infoLogCost * 100).toFixed(1)}% of req/s, ${results.infoLogCpuMicros ?? 'n/a'} µs CPU per request`,
  );
  const cpu = (load) =>
    load.cpuPercent
      ? `server ${load.cpuPercent.server}%, loader ${load.cpuPercent.loader}%, ` +
        `steal ${load.cpuPercent.steal}%, other ${load.cpuPercent.others}%`
      : 'n/a';
  const perRequest = (load) => `${load.serverCpuMicrosPerRequest ?? 'n/a'} µs`;
  row(
    'server CPU per request: callcard warn / info / bare',
    `${perRequest(callcard.load)} / ${perRequest(callcardInfo.load)} / ${perRequest(bare.load)}`,
  );
  row('CPU during callcard run (of 200%)', cpu(callcard.load));
  row('CPU during bare run (of 200%)', cpu(bare.load));
  row('CPU during callcard info run', cpu(callcardInfo.load));
  sourceRows(results, row, ms, rps, cpu, perRequest);
  workflowRows(results, row, ms, cpu, perRequest);

  const widths = [0, 1, 2].map((c) =>
    Math.max(...rows.map((r) => r[c].length), ['metric', 'value', 'target'][c].length),
  );
  const line = (r) =>
    `${r[0].padEnd(widths[0])}  ${r[1].padEnd(widths[1])}  ${r[2].padEnd(widths[2])}  ${r[3]}`.trimEnd();
  const out = [
    '',
    `callcard bench: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GB, node ${process.version}`,
    `callcard ${results.source.commit ?? '?'}${results.source.uncommittedSrc.length > 0 ? ` + uncommitted changes in ${results.source.uncommittedSrc.join(', ')}` : ''}`,
    `load: POST /Lookup, 50% hits / 50% misses, ${CONNECTIONS} connections, ${WARMUP} s warm-up + ${DURATION} s, loader in its own process (shares the 2 cores with the server)`,
    ...sourceNotes(results),
    ...workflowNotes(results),
    '',
    line(['metric', 'value', 'target', '']),
    line(widths.map((w) => '-'.repeat(w)).concat('----')),
    ...rows.map(line),
    '',
    `import CLI said: ${importRun.cliLine}`,
    ...[callcard.load, bare.load, callcardInfo.load]
      .filter((load) => (load.cpuPercent?.others ?? 0) > 20 || (load.cpuPercent?.steal ?? 0) > 20)
      .slice(0, 1)
      .map(
        () =>
          'WARNING: other processes or the hypervisor (steal) took more than 20% of a core during a ' +
          'measured run (see the CPU rows): req/s and latencies of that run are understated, and the ' +
          'comparisons between runs are skewed; server CPU per request is the steadier figure.',
      ),
    '',
  ];
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------

/** Which callcard was measured: commit, and the files of src/ changed since. */
function sourceState() {
  const git = (...args) => {
    try {
      return execFileSync('git', args, {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trimEnd();
    } catch {
      return null;
    }
  };
  const changed = git('status', '--porcelain', '--', 'src');
  return {
    commit: git('rev-parse', '--short', 'HEAD'),
    uncommittedSrc: changed ? changed.split('\n').map((l) => l.slice(3)) : [],
  };
}

async function main() {
  if (!existsSync(CLI)) throw new Error(`${CLI} missing: run "npm run build" first (npm run bench does)`);
  mkdirSync(WORK, { recursive: true });
  const results = {
    startedAt: new Date().toISOString(),
    source: sourceState(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      node: process.version,
      loadavgAtStart: loadavg(),
    },
    config: {
      CONTACTS,
      HITS,
      MISSES,
      CONNECTIONS,
      WARMUP,
      DURATION,
      dist: DIST,
      sources: SOURCES,
      pgUrl: PG_URL,
      slowSource: SLOW_SOURCE,
      slowLookups: SLOW_LOOKUPS,
      slowConcurrency: SLOW_CONCURRENCY,
      workflows: WORKFLOWS,
      workflowConnections: WF_CONNECTIONS,
      workflowWarmup: WF_WARMUP,
      workflowDuration: WF_DURATION,
      workflowDownCalls: WF_DOWN_CALLS,
      workflowDownContacts: WF_DOWN_CONTACTS,
      workflowDownConcurrency: WF_DOWN_CONCURRENCY,
      workflowDownBudgetMs: WF_DOWN_BUDGET_MS,
      workflowDelivery: WF_DELIVERY,
    },
    targets: TARGETS,
  };

  log(`generating ${CONTACTS.toLocaleString('en-US')} contacts into ${CSV}`);
  results.csv = await generateContacts();
  log(`CSV: ${Math.round(results.csv.bytes / 2 ** 20)} MB in ${results.csv.seconds} s`);
  const hits = JSON.parse(readFileSync(results.csv.hitsFile, 'utf8'));
  const misses = JSON.parse(readFileSync(results.csv.missesFile, 'utf8'));

  log('importing (callcard import --replace, fresh data dir)');
  results.importRun = await importContacts();
  log(results.importRun.cliLine);

  // Request bodies: hit, miss, hit, miss…, hits in a shuffled order.
  const order = hits.map((_, i) => i);
  const random = prng(SEED + 1);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const bodies = [];
  for (let i = 0; i < order.length; i++) {
    bodies.push(lookupBody(hits[order[i]].number), lookupBody(misses[i % misses.length]));
  }
  const bodiesFile = join(WORK, 'bodies.json');
  await writeFile(bodiesFile, JSON.stringify(bodies));

  // callcard, log level warn.
  log('starting callcard (log level warn)');
  {
    const { child, startupMs, idle } = await startCallcard('warn', 'ignore');
    try {
      log(`callcard up in ${startupMs} ms, RSS ${idle.vmRssMb} MB; checking answers`);
      results.check = await checkCorrectness(hits, misses);
      if (results.check.failures > 0) {
        log(
          `correctness check: ${results.check.failures} failures, e.g.:\n  ${results.check.problems.join('\n  ')}`,
        );
      }
      if (!results.check.typicalHitBody) throw new Error('no hit answered correctly: nothing to benchmark');
      const load = await runLoad(CALLCARD_PORT, bodiesFile, 'callcard-warn', child.pid);
      const end = procStatus(child.pid);
      results.callcard = { startupMs, idle, end, load };
      log(`callcard: ${load.requestsPerSecond} req/s, p99 ${load.latencyMs.p99} ms, RSS ${end.vmRssMb} MB`);
    } finally {
      await stop(child);
    }
  }

  // Bare node:http with a real hit answer.
  const bodyFile = join(WORK, 'bare-body.json');
  await writeFile(bodyFile, results.check.typicalHitBody);
  log('starting bare node:http server');
  {
    const child = await startBare(bodyFile);
    try {
      const load = await runLoad(BARE_PORT, bodiesFile, 'bare', child.pid);
      results.bare = {
        bodyBytes: Buffer.byteLength(results.check.typicalHitBody),
        body: results.check.typicalHitBody,
        load,
      };
      log(`bare: ${load.requestsPerSecond} req/s, p99 ${load.latencyMs.p99} ms`);
    } finally {
      await stop(child);
    }
  }

  // callcard again, default log level (info), log lines to /dev/null.
  log('starting callcard (log level info, stdout to /dev/null)');
  {
    const { child, startupMs, idle } = await startCallcard('info', 'ignore');
    try {
      const load = await runLoad(CALLCARD_PORT, bodiesFile, 'callcard-info', child.pid);
      results.callcardInfo = { startupMs, idle, end: procStatus(child.pid), load };
      log(`callcard (info): ${load.requestsPerSecond} req/s, p99 ${load.latencyMs.p99} ms`);
    } finally {
      await stop(child);
    }
  }

  // Sources beside the embedded store (PostgreSQL live and mirror, a slow source).
  results.sources = SOURCES ? await runSourceBenchmarks(hits, misses) : { skipped: 'BENCH_SOURCES=0' };
  const liveRuns = results.sources.liveSql?.runs;
  if (liveRuns) {
    for (const run of Object.values(liveRuns)) {
      run.ratioToEmbedded = round(run.load.requestsPerSecond / results.callcard.load.requestsPerSecond, 3);
    }
  }

  // CallFlow with a webhook action: a healthy target under load, then 10,000 calls while it is down.
  results.workflows = WORKFLOWS
    ? await section('workflows', () => runWorkflowBenchmarks(hits, misses))
    : { skipped: 'BENCH_WORKFLOWS=0' };

  results.ratio = results.callcard.load.requestsPerSecond / results.bare.load.requestsPerSecond;
  results.infoLogCost =
    1 - results.callcardInfo.load.requestsPerSecond / results.callcard.load.requestsPerSecond;
  results.infoLogCpuMicros =
    results.callcardInfo.load.serverCpuMicrosPerRequest !== undefined &&
    results.callcard.load.serverCpuMicrosPerRequest !== undefined
      ? results.callcardInfo.load.serverCpuMicrosPerRequest - results.callcard.load.serverCpuMicrosPerRequest
      : null;
  results.pass = {
    ratio: results.ratio >= TARGETS.ratio,
    p99: (results.callcard.load.latencyMs.p99 ?? Infinity) < TARGETS.p99Ms,
    serverRss: results.callcard.end.vmHwmMb !== null && results.callcard.end.vmHwmMb < TARGETS.serverRssMb,
    importRate: results.importRun.rowsPerSecond >= TARGETS.importRowsPerSecond,
    correctness: results.check.failures === 0,
    no_non2xx: results.callcard.load.non2xx === 0 && results.callcard.load.errors === 0,
  };
  if (liveRuns) {
    results.pass.liveSqlCorrectness = Object.values(liveRuns).every((run) => run.check.failures === 0);
    results.pass.liveSqlNoSourceFailures = Object.values(liveRuns).every(
      (run) => run.sourceFailures.total === 0 && run.load.non2xx === 0 && run.load.errors === 0,
    );
  }
  const slow = results.sources.slowSource;
  if (slow?.pass) {
    results.pass.slowSourceAllStatus200 = slow.pass.allStatus200;
    results.pass.slowSourceWithinDeadline = slow.pass.maxBelowDeadline;
    results.pass.slowSourceHealthyHits = slow.pass.healthyHits && slow.pass.noSlowContact;
  }
  const mirror = results.sources.mirrorSync;
  if (mirror?.lookupChecks) {
    results.pass.mirrorSyncComplete =
      mirror.written === CONTACTS && mirror.lookupChecks.every((check) => check.ok);
  }
  for (const [part, prefix] of [
    ['healthy', 'callFlowTargetUp'],
    ['down', 'callFlowTargetDown'],
  ]) {
    const pass = results.workflows[part]?.pass;
    if (!pass) continue;
    for (const [name, ok] of Object.entries(pass))
      results.pass[`${prefix}${name[0].toUpperCase()}${name.slice(1)}`] = ok;
  }
  results.summary = summarize(results);
  results.finishedAt = new Date().toISOString();
  await writeFile(join(WORK, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(results.summary);
  process.stdout.write(`(written to ${join(WORK, 'results.json')})\n`);
}

try {
  await main();
} catch (error) {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  emergencyCleanup();
  process.exitCode = 1;
}
