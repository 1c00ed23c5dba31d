/**
 * Three `callcard serve` processes on one PostgreSQL store, as behind a load balancer, while things
 * go wrong: one instance is killed (SIGKILL) and started again, the one syncing the mirrored source
 * is killed, and PostgreSQL restarts, all under steady traffic spread round robin over the three.
 *
 * The store is a private PostgreSQL cluster of this test (initdb/pg_ctl, never the machine's shared
 * server); the rate limits are counted in the machine's Redis, under a prefix of this run. The
 * mirrored source and the CallFlow's two webhook targets are an HTTP server in this test, which
 * records every delivery with its idempotency key. Skipped with a message without PostgreSQL's
 * server binaries or Redis, a failure under CI.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request as httpRequest, type Server } from 'node:http';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { buildCli } from '../support/cli.js';
import { TOKEN, tempDir } from '../support/helper.js';
import { type PrivatePg, privatePgUnavailable, startPrivatePg } from '../support/private-pg.js';
import { describeWithServer } from '../support/sql.js';
import { callInputs } from '../support/workflows.js';

const REDIS_URL = process.env['CALLCARD_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const SCHEMA = 'callcard_three';
/** How often the mirror syncs: the time after which another instance takes over a dead one's syncs. */
const SYNC_INTERVAL_MS = 1000;
/** Contacts of the mirrored source, looked up in turn. */
const CONTACTS = 40;
/** How long the webhook target takes to answer: deliveries are in flight when an instance dies. */
const HOOK_DELAY_MS = 120;
/** The per-address limit, low: a few requests from one address, spread over the instances, reach it. */
const ADDRESS_LIMIT = 4;

async function redisUnavailable(): Promise<string | undefined> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return `no Redis at ${REDIS_URL} (${(error as Error).message})`;
  } finally {
    client.disconnect();
  }
}

const unavailable = privatePgUnavailable() ?? (await redisUnavailable());

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Waits for `check` to hold, polling; fails naming `what` after `ms`. */
async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const numberOf = (i: number) => `4121553${String(1000 + i).slice(1)}`;
const nameOf = (i: number, version: number) =>
  version === 0 ? `Mirrored ${i}` : `Mirrored ${i} v${version}`;

/** One delivery as the target got it. */
interface Hit {
  readonly key: string;
  readonly path: string;
  readonly callId: unknown;
  readonly at: number;
}

/**
 * The mirrored source's JSON API (`/contacts`, its names changed by `bump()`) and the webhook
 * targets (`/hook/0`, `/hook/1`), which record each delivery and answer after a short while.
 */
async function startApi() {
  const hits: Hit[] = [];
  let version = 0;
  let listings = 0;
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (request.url?.startsWith('/contacts')) {
      listings++;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify(
          Array.from({ length: CONTACTS }, (_, i) => ({
            id: `m${i}`,
            name: nameOf(i, version),
            phone: `+${numberOf(i)}`,
          })),
        ),
      );
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { callId?: unknown };
    hits.push({
      key: String(request.headers['idempotency-key']),
      path: request.url ?? '',
      callId: body.callId,
      at: Date.now(),
    });
    await pause(HOOK_DELAY_MS);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ record: { id: `T-${hits.length}` } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    hits,
    get version() {
      return version;
    },
    get listings() {
      return listings;
    },
    bump() {
      version++;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A `callcard serve` process: one run of one of the three instances. */
interface Run {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly lines: string[];
  readonly exited: Promise<void>;
  readonly agent: Agent;
}

/** One of the three instances: its port and data directory stay across its runs. */
interface Instance {
  readonly n: number;
  readonly port: number;
  readonly dataDir: string;
  /** `up` from its banner until it is killed; requests then fail to reach it until it is up again. */
  state: 'up' | 'down';
  run?: Run;
  /** Every run's log lines, for the report when something fails. */
  readonly log: string[];
}

type Outcome =
  | {
      readonly kind: 'answer';
      readonly status: number;
      readonly body: string;
      readonly headers: Record<string, unknown>;
    }
  | { readonly kind: 'unreachable'; readonly code: string };

/** POSTs `body` to `path` of `instance`: its answer, or why it could not be reached. */
function post(
  instance: Instance,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Outcome> {
  const run = instance.run!;
  const payload = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: instance.port,
        path,
        method: 'POST',
        agent: run.agent,
        timeout: 30_000,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          'x-execution-token': TOKEN,
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            kind: 'answer',
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
        res.on('error', (error: NodeJS.ErrnoException) =>
          resolve({ kind: 'unreachable', code: error.code ?? error.message }),
        );
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'TIMEOUT' })));
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ kind: 'unreachable', code: error.code ?? error.message }),
    );
    req.end(payload);
  });
}

async function get(instance: Instance, path: string): Promise<number | undefined> {
  try {
    const answer = await fetch(`http://127.0.0.1:${instance.port}${path}`, {
      signal: AbortSignal.timeout(10_000),
    });
    await answer.arrayBuffer();
    return answer.status;
  } catch {
    return undefined;
  }
}

describeWithServer('three callcard processes on one PostgreSQL store', unavailable, () => {
  let pgServer: PrivatePg;
  let api: Awaited<ReturnType<typeof startApi>>;
  let dir: ReturnType<typeof tempDir>;
  let configFile: string;
  /** The built `callcard` (started twice as fast as the sources through tsx). */
  let cli: string;
  let db: pg.Pool;
  let redis: Redis;
  const prefix = `callcard-test:${randomUUID()}:`;
  const instances: Instance[] = [];

  /** Starts a run of `instance` and waits for its banner. */
  async function start(instance: Instance): Promise<void> {
    const child = spawn(
      process.execPath,
      [cli, 'serve', '--config', configFile, '--port', String(instance.port)],
      {
        env: { PATH: process.env['PATH'] ?? '', CALLCARD_DATA_DIR: instance.dataDir },
        cwd: instance.dataDir,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const lines: string[] = [];
    let banner = '';
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const parts = pending.split('\n');
      pending = parts.pop()!;
      lines.push(...parts);
      instance.log.push(...parts);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      banner += chunk.toString('utf8');
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const run: Run = { child, pid: child.pid!, lines, exited, agent: new Agent({ keepAlive: true }) };
    instance.run = run;
    let gone = false;
    void exited.then(() => {
      gone = true;
    });
    await until(() => gone || banner.includes('Try it'), `instance ${instance.n} to start`, 90_000).catch(
      (error: Error) => {
        throw new Error(`${error.message}: ${banner}\n${lines.slice(-20).join('\n')}`);
      },
    );
    if (gone) throw new Error(`instance ${instance.n} exited at start: ${banner}`);
    instance.state = 'up';
  }

  /** SIGKILL: no shutdown of any kind. Answers the deliveries it was running. */
  async function kill(instance: Instance): Promise<string[]> {
    const run = instance.run!;
    instance.state = 'down';
    run.child.kill('SIGKILL');
    await run.exited;
    run.agent.destroy();
    // Its leases stay until they run out (30 s after its last renewal): read at once, they are
    // the deliveries it was attempting when it died.
    const { rows } = await db.query<{ id: string; locked_by: string }>(
      `SELECT id, locked_by FROM ${SCHEMA}.deliveries WHERE status = 'running'`,
    );
    return rows.filter((row) => row.locked_by.split(':').at(-2) === String(run.pid)).map((row) => row.id);
  }

  const ready = async (instance: Instance) => (await get(instance, '/readyz')) === 200;

  /** The instance whose log says it synced the mirror last, and when that line came. */
  function syncHolder(): { instance: Instance; at: number } | undefined {
    let found: { instance: Instance; at: number } | undefined;
    for (const instance of instances) {
      for (const line of instance.run?.lines ?? []) {
        if (!line.includes('"source synced"')) continue;
        const { time } = JSON.parse(line) as { time: number };
        if (!found || time > found.at) found = { instance, at: time };
      }
    }
    return found;
  }

  beforeAll(async () => {
    dir = tempDir('callcard-three-');
    mkdirSync(join(dir.path, 'package'));
    [pgServer, api, cli] = await Promise.all([
      startPrivatePg(),
      startApi(),
      buildCli(join(dir.path, 'package')),
    ]);
    db = new pg.Pool({ connectionString: pgServer.url, max: 2 });
    db.on('error', () => {});
    redis = new Redis(REDIS_URL);
    configFile = join(dir.path, 'callcard.yaml');
    writeFileSync(
      configFile,
      stringify({
        host: '127.0.0.1',
        // The test stands for the balancer: the address it forwards is the caller's.
        trustProxy: '127.0.0.1',
        auth: { tokens: [TOKEN] },
        store: { type: 'postgres', url: pgServer.url, schema: SCHEMA },
        limits: {
          perAddress: { max: ADDRESS_LIMIT, windowMs: 3_600_000 },
          redis: { url: REDIS_URL, prefix, timeoutMs: 5000 },
        },
        sources: [
          {
            type: 'rest',
            name: 'crm',
            mode: 'mirror',
            baseUrl: api.base,
            auth: { type: 'none' },
            list: { request: { url: '/contacts' }, pagination: { type: 'none' } },
            fields: { id: 'id', name: 'name', phones: 'phone' },
            sync: { intervalMs: SYNC_INTERVAL_MS },
          },
        ],
        workflows: {
          CallFlow: {
            actions: [
              { type: 'webhook', url: `${api.base}/hook/0`, maxAttempts: 100 },
              { type: 'webhook', url: `${api.base}/hook/1`, maxAttempts: 100 },
            ],
          },
        },
        // The outbox's lease is its default (30 s): a killed instance's deliveries are taken over once it
        // has run out, and a PostgreSQL restart shorter than it repeats none.
        delivery: { pollMs: 100, backoffBaseMs: 100, backoffMaxMs: 1000 },
        metrics: { enabled: false },
        log: { level: 'info' },
      }),
    );
    for (let n = 0; n < 3; n++) {
      const dataDir = join(dir.path, `data-${n}`);
      mkdirSync(dataDir);
      instances.push({ n, port: await freePort(), dataDir, state: 'down', log: [] });
    }
    // The first creates the schema; the two others start meanwhile.
    await Promise.all(instances.map(start));
    for (const instance of instances)
      await until(() => ready(instance), `instance ${instance.n} ready`, 60_000);
  }, 180_000);

  afterAll(async () => {
    measured['steps (ms)'] = JSON.stringify(steps);
    console.log(`three instances: ${JSON.stringify(measured, null, 1)}`);
    for (const instance of instances) {
      if (instance.run && instance.run.child.exitCode === null && instance.run.child.signalCode === null) {
        instance.run.child.kill('SIGKILL');
        await instance.run.exited;
      }
      instance.run?.agent.destroy();
    }
    await db?.end();
    await api?.close();
    await pgServer?.remove();
    if (redis) {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
    dir?.remove();
  }, 60_000);

  // What the traffic saw, checked by the tests after it.
  let turn = 0;
  const nextInstance = () => instances[turn++ % instances.length]!;
  let addresses = 0;
  /** Each request from an address of its own: the per-address limit counts only the limit's test. */
  const freshAddress = () => {
    const n = ++addresses;
    return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  };
  /** Requests that could not reach an instance: killed (by path), or up (a failure). */
  const unreachable = { down: new Map<string, number>(), up: [] as string[] };
  const lookupStatuses = new Map<number, number>();
  const lookupProblems: string[] = [];
  let lookupsAnswered = 0;
  let emptyCards = 0;
  const callStatuses = new Map<number, number>();
  const callProblems: string[] = [];
  /** Calls answered 200, with the id of each of their two posts and which instances answered. */
  const calls: { n: number; ids: [string, string]; by: [number, number] }[] = [];
  /** While PostgreSQL restarts (from the restart until every instance is ready again). */
  let pgRestarting = false;
  let storeRefusals = 0;
  /** Deliveries running on an instance when it was killed. */
  const inFlightAtKill = new Set<string>();
  const measured: Record<string, number | string> = {};
  /** When each step of the scenario began (ms since the first). */
  const steps: Record<string, number> = {};
  const t0 = Date.now();
  const step = (name: string) => {
    steps[name] = Date.now() - t0;
  };

  /** Posts to instances from `first` on until one answers: a connection refused or cut is retried on the next. */
  async function send(
    first: Instance,
    path: string,
    body: unknown,
    headers: Record<string, string>,
    avoid?: number,
  ): Promise<{ instance: Instance; answer: Extract<Outcome, { kind: 'answer' }> }> {
    let target = first;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (target.n !== avoid) {
        const outcome = await post(target, path, body, headers);
        if (outcome.kind === 'answer') return { instance: target, answer: outcome };
        if (target.state === 'down') unreachable.down.set(path, (unreachable.down.get(path) ?? 0) + 1);
        else unreachable.up.push(`instance ${target.n} (up): ${outcome.code}`);
      }
      if (Date.now() > deadline) throw new Error(`no instance answered ${path}`);
      target = instances[(target.n + 1) % instances.length]!;
      if (target === first) await pause(100);
    }
  }

  async function lookupOnce(k: number): Promise<void> {
    const i = k % CONTACTS;
    const restarting = pgRestarting;
    const { instance, answer } = await send(
      nextInstance(),
      '/Lookup',
      { inputs: { phoneNumber: numberOf(i) } },
      { 'x-forwarded-for': freshAddress() },
    );
    lookupsAnswered++;
    lookupStatuses.set(answer.status, (lookupStatuses.get(answer.status) ?? 0) + 1);
    if (answer.status !== 200) {
      lookupProblems.push(`instance ${instance.n}: ${answer.status} ${answer.body}`);
      return;
    }
    const card = JSON.parse(answer.body) as { id: string; name: string }[];
    if (card.length === 0) {
      // Only while the store does not answer, for a number this instance had not looked up before.
      emptyCards++;
      if (!restarting && !pgRestarting)
        lookupProblems.push(`instance ${instance.n}: an empty card for ${numberOf(i)}`);
      return;
    }
    // The contact, in a version the mirror has listed (the latest may not be synced yet).
    const names = Array.from({ length: api.version + 1 }, (_, version) => nameOf(i, version));
    if (card[0]!.id !== `m${i}` || !names.includes(card[0]!.name))
      lookupProblems.push(`instance ${instance.n}: ${answer.body} for ${numberOf(i)}`);
  }

  /** Posts a call until it is accepted, first to one instance, then to another: both must say the same id. */
  async function callOnce(n: number): Promise<void> {
    const inputs = callInputs({
      startedTime: new Date(Date.UTC(2026, 10, 26, 10, 0, 0) + n * 1000).toISOString(),
      originatorNumber: numberOf(n % CONTACTS),
    });
    const postUntilAccepted = async (first: Instance, avoid?: number) => {
      let target = first;
      const deadline = Date.now() + 60_000;
      for (;;) {
        const started = pgRestarting;
        const { instance, answer } = await send(
          target,
          '/CallFlow',
          { inputs },
          { 'x-forwarded-for': freshAddress() },
          avoid,
        );
        callStatuses.set(answer.status, (callStatuses.get(answer.status) ?? 0) + 1);
        if (answer.status === 200)
          return { id: (JSON.parse(answer.body) as { id: string }).id, by: instance.n };
        if (answer.status === 503 && answer.body.includes('"code":"STORE_UNAVAILABLE"')) {
          storeRefusals++;
          if (!started && !pgRestarting) callProblems.push(`instance ${instance.n}: 503 outside the restart`);
          expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
        } else {
          callProblems.push(`instance ${instance.n}: ${answer.status} ${answer.body}`);
        }
        if (Date.now() > deadline) throw new Error(`call ${n} not accepted within a minute`);
        // Posted again, as the CONNECTOR does, to the next instance.
        await pause(100);
        target = instances[(instance.n + 1) % instances.length]!;
      }
    };
    const one = await postUntilAccepted(nextInstance());
    // The repeat goes to another instance.
    const two = await postUntilAccepted(instances[(one.by + 1) % instances.length]!, one.by);
    calls.push({ n, ids: [one.id, two.id], by: [one.by, two.by] });
  }

  it('keeps answering while an instance is killed, the syncing one is killed and PostgreSQL restarts', async () => {
    let stopping = false;
    let lookups = 0;
    let callNumber = 0;
    const loops = [
      ...[0, 1].map(async () => {
        while (!stopping) await lookupOnce(lookups++);
      }),
      ...[0, 1].map(async () => {
        while (!stopping) await callOnce(++callNumber);
      }),
    ];
    // A failure in the traffic is reported by the await below, not as an unhandled rejection meanwhile.
    const traffic = Promise.all(loops);
    traffic.catch(() => {});
    const accepted = () => calls.length;
    const moreCalls = async (count: number, what: string) => {
      const target = accepted() + count;
      await until(() => accepted() >= target, what, 60_000);
    };

    try {
      step('traffic');
      await moreCalls(4, 'calls before the first kill');

      // 1. An instance that does not sync the mirror dies (with a delivery in flight, if one comes
      // soon), and is started again at once.
      step('first kill');
      const holder = syncHolder()?.instance;
      const victim = instances.find((instance) => instance !== holder)!;
      const runningOn = async (instance: Instance) => {
        const { rows } = await db.query<{ locked_by: string }>(
          `SELECT locked_by FROM ${SCHEMA}.deliveries WHERE status = 'running'`,
        );
        return rows.some((row) => row.locked_by.split(':').at(-2) === String(instance.run!.pid));
      };
      await until(() => runningOn(victim), `a delivery in flight on instance ${victim.n}`, 10_000).catch(
        () => {
          measured['first kill'] = 'no delivery was in flight on the instance';
        },
      );
      for (const id of await kill(victim)) inFlightAtKill.add(id);
      measured['in flight at the first kill'] = inFlightAtKill.size;
      const restarted = start(victim).then(() =>
        until(() => ready(victim), 'the restarted instance ready', 90_000),
      );
      restarted.catch(() => {});

      // 2. Meanwhile the instance syncing the mirror dies: the third takes the syncs over (or the
      // first, once it is back), within two sync intervals of the last sync.
      step('second kill');
      const syncing = syncHolder()!;
      const before = inFlightAtKill.size;
      const killedAt = Date.now();
      for (const id of await kill(syncing.instance)) inFlightAtKill.add(id);
      measured['in flight at the second kill'] = inFlightAtKill.size - before;
      await until(
        () => {
          const now = syncHolder();
          return now !== undefined && now.instance !== syncing.instance && now.at > killedAt;
        },
        'another instance to sync the mirror',
        60_000,
      );
      step('sync taken over');
      measured['ms from the last sync of the killed instance to the next sync elsewhere'] =
        syncHolder()!.at - syncing.at;
      measured['sync taken over by'] =
        `instance ${syncHolder()!.instance.n} from instance ${syncing.instance.n}`;
      // A change in the source reaches the lookups through the instance that took over.
      api.bump();
      const live = instances.find((instance) => instance.state === 'up')!;
      await until(
        async () => {
          const outcome = await post(
            live,
            '/Lookup',
            { inputs: { phoneNumber: numberOf(0) } },
            { 'x-forwarded-for': freshAddress() },
          );
          return outcome.kind === 'answer' && outcome.body.includes(`"${nameOf(0, api.version)}"`);
        },
        'the changed contact',
        60_000,
      );
      step('second restart');
      await start(syncing.instance);
      await until(() => ready(syncing.instance), 'the syncing instance ready again', 90_000);
      await restarted;
      step('both restarted');
      await moreCalls(3, 'calls after the restarts');

      // 3. PostgreSQL restarts under the traffic.
      step('PostgreSQL restart');
      pgRestarting = true;
      await pgServer.restart();
      for (const instance of instances)
        await until(() => ready(instance), `instance ${instance.n} ready after the restart`, 60_000);
      pgRestarting = false;
      step('PostgreSQL restarted');
      await moreCalls(4, 'calls after the PostgreSQL restart');
      step('end');
    } finally {
      stopping = true;
      await traffic;
    }

    measured['lookups answered'] = lookupsAnswered;
    measured['lookups sent to a killed instance, retried on another'] = unreachable.down.get('/Lookup') ?? 0;
    measured['CallFlow posts sent to a killed instance, retried on another'] =
      unreachable.down.get('/CallFlow') ?? 0;
    measured['empty cards while PostgreSQL restarted'] = emptyCards;
    measured['calls accepted'] = calls.length;
    measured['CallFlow posts refused with 503 while PostgreSQL restarted'] = storeRefusals;
    expect(unreachable.up).toEqual([]);
    expect(lookupProblems).toEqual([]);
    expect([...lookupStatuses.keys()]).toEqual([200]);
    expect(callProblems).toEqual([]);
    expect(calls.length).toBeGreaterThanOrEqual(11);
  }, 300_000);

  it('both posts of a call got one id; each accepted call was delivered once per action', async () => {
    for (const call of calls) {
      expect(call.ids[0]).toBe(call.ids[1]);
      expect(call.by[0]).not.toBe(call.by[1]);
    }
    const ids = new Set(calls.map((call) => call.ids[0]));
    expect(ids.size).toBe(calls.length);
    // Every delivery ends done (the killed instances' leases run out, and another takes them).
    step('deliveries checked');
    await until(
      async () => {
        const { rows } = await db.query<{ open: string }>(
          `SELECT count(*) AS open FROM ${SCHEMA}.deliveries WHERE status <> 'done'`,
        );
        return Number(rows[0]!.open) === 0;
      },
      'every delivery done',
      90_000,
    );
    step('every delivery done');
    const { rows } = await db.query<{
      id: string;
      update_of: string | null;
      payload: string;
      received_count: number;
    }>(
      `SELECT d.id, d.update_of, d.payload, c.received_count FROM ${SCHEMA}.deliveries d
         JOIN ${SCHEMA}.calls c ON c.id = d.call_id ORDER BY d.seq`,
    );
    const expected = [...ids].flatMap((id) => [`CallFlow:${id}:0`, `CallFlow:${id}:1`]);
    // One delivery per call and action...
    const firsts = rows.filter((row) => row.update_of === null);
    expect(firsts.map((row) => row.id).sort()).toEqual([...expected].sort());
    for (const row of rows) expect(row.received_count).toBeGreaterThanOrEqual(2);
    // ...and an update behind it only where the second post brought a change to what the first had
    // sent (its contact renamed in the mirror between the two posts, or not found while the store
    // restarted): the webhook's update of the record, under a key of its own.
    const updates = rows.filter((row) => row.update_of !== null);
    for (const update of updates) {
      expect(update.id).toMatch(new RegExp(`^${update.update_of}:update:\\d+$`));
      const chain = rows.filter((row) => row.id === update.update_of || row.update_of === update.update_of);
      const before = chain[chain.indexOf(update) - 1]!;
      expect(update.payload).not.toBe(before.payload);
      const contact = (payload: string) => JSON.stringify(JSON.parse(payload).contact?.name ?? null);
      measured[`update ${update.id}`] = `contact ${contact(before.payload)} -> ${contact(update.payload)}`;
    }

    const byKey = new Map<string, Hit[]>();
    for (const hit of api.hits) byKey.set(hit.key, [...(byKey.get(hit.key) ?? []), hit]);
    expect([...byKey.keys()].sort()).toEqual(rows.map((row) => row.id).sort());
    for (const [key, hits] of byKey) {
      const [, callId, action] = key.split(':');
      // Each is the call's delivery to that action's target.
      for (const hit of hits) expect(hit).toMatchObject({ key, path: `/hook/${action}`, callId });
    }
    const repeated = [...byKey].filter(([, hits]) => hits.length > 1).map(([key]) => key);
    measured['deliveries'] = rows.length;
    measured['of which updates'] = updates.length;
    measured['deliveries repeated after a kill (same key)'] = repeated.filter((key) =>
      inFlightAtKill.has(key),
    ).length;
    measured['requests at the targets'] = api.hits.length;
    for (const key of repeated) {
      measured[`repeat ${key}`] = `at ${byKey
        .get(key)!
        .map((hit) => hit.at - t0)
        .join(', ')} ms${inFlightAtKill.has(key) ? ', in flight at a kill' : ''}`;
    }
    for (const message of [
      'outbox write failed; trying again',
      'outbox write failed; the lease will run out',
      'outbox lease lost',
      'outbox lease renewal failed',
      'outbox claim failed',
    ]) {
      measured[`log: ${message}`] = instances
        .flatMap((instance) => instance.log)
        .filter((line) => line.includes(message)).length;
    }
    // Only a delivery in flight at a kill reached its target twice, with the same key.
    expect(repeated.filter((key) => !inFlightAtKill.has(key))).toEqual([]);
  }, 120_000);

  it('counts the limits across the instances', async () => {
    // Three requests on each instance, under its limit of four, but twelve from one address in all.
    const statuses: number[] = [];
    for (let k = 0; k < 3 * ADDRESS_LIMIT; k++) {
      const outcome = await post(
        instances[k % 3]!,
        '/Lookup',
        { inputs: { phoneNumber: numberOf(1) } },
        {
          'x-forwarded-for': '198.51.100.7',
        },
      );
      if (outcome.kind !== 'answer') throw new Error(`instance ${k % 3}: ${outcome.code}`);
      statuses.push(outcome.status);
      if (outcome.status === 429) expect(JSON.parse(outcome.body).error.code).toBe('RATE_LIMITED');
    }
    expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
    // Eight refused when the twelve are in one window; at least four if the window turned meanwhile
    // (six on one side of the turn).
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(4);
  }, 30_000);
});
