/**
 * Two cores (two `openCore`, as two instances would have) on one PostgreSQL store: a mirrored source
 * is synced by one of them at a time, and a call is delivered once. The source is a JSON API on this
 * machine that counts its listings. Needs the machine's PostgreSQL: skipped with a message without
 * it, a failure under CI.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { readCallInputs } from '../../src/connector/wire.js';
import { type Core, openCore } from '../../src/core/open-core.js';
import type { Source } from '../../src/sources/types.js';
import { openPostgresStore } from '../../src/store/postgres/postgres-store.js';
import type { Store } from '../../src/store/types.js';
import { createSyncEngine } from '../../src/sync/engine.js';
import { tempDir } from '../support/helper.js';
import { describeWithServer, pgUnavailable, pgUrl, uniqueName } from '../support/sql.js';
import { callInputs } from '../support/workflows.js';
import { adminQuery } from './support.js';

const unavailable = await pgUnavailable();
const silent = pino({ level: 'silent' });

/** A JSON API listing one contact, and a webhook target; each counts what it gets. */
async function startApi() {
  let listings = 0;
  const deliveries: string[] = [];
  /** While set, listings wait for it: a sync in progress. */
  let gate: Promise<void> | undefined;
  const server: Server = createServer(async (request, response) => {
    for await (const _ of request) {
      // bodies are not looked at
    }
    if (request.url?.startsWith('/contacts')) {
      listings++;
      await gate;
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify([{ id: 'c1', name: 'Alexa Holiday', phone: '+41 21 552 20 00' }]));
      return;
    }
    deliveries.push(String(request.headers['idempotency-key']));
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get listings() {
      return listings;
    },
    deliveries,
    hold() {
      let open!: () => void;
      gate = new Promise((resolve) => {
        open = resolve;
      });
      return () => {
        gate = undefined;
        open();
      };
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 15_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describeWithServer('two cores on one PostgreSQL store', unavailable, () => {
  let schema: string;
  let api: Awaited<ReturnType<typeof startApi>>;
  const cores: Core[] = [];
  const dirs: ReturnType<typeof tempDir>[] = [];

  /** One instance's core, with a data directory of its own. */
  const core = async (options: { startDelivery?: boolean } = {}) => {
    const dir = tempDir('callcard-core-');
    dirs.push(dir);
    const config = loadConfig({
      env: {},
      overrides: {
        dataDir: dir.path,
        store: { type: 'postgres', url: pgUrl(), schema },
        auth: { tokens: ['t'.repeat(16)] },
        sources: [
          {
            type: 'rest',
            name: 'crm',
            mode: 'mirror',
            baseUrl: api.url,
            auth: { type: 'none' },
            list: { request: { url: '/contacts' }, pagination: { type: 'none' } },
            fields: { id: 'id', name: 'name', phones: 'phone' },
          },
        ],
        workflows: { CallFlow: { actions: [{ type: 'webhook', url: `${api.url}/hook`, maxAttempts: 3 }] } },
      } as never,
    });
    const opened = await openCore(config.tenants[0]!, { logger: silent, ...options });
    cores.push(opened);
    return opened;
  };
  const entry = (of: Core) => of.mirrors.get('crm')!;

  beforeEach(async () => {
    schema = uniqueName('cc_cores');
    api = await startApi();
  });
  afterEach(async () => {
    for (const one of cores.splice(0)) await one.close();
    for (const dir of dirs.splice(0)) dir.remove();
    await api.close();
    await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  });

  it('syncs a source on one instance at a time; their schedules sync it once an interval', async () => {
    const [a, b] = [await core(), await core()];
    // Both schedules come due at once: one lists the source, the other leaves it to it.
    const reports = await Promise.all([
      a.sync.sync(entry(a), { scheduled: true }),
      b.sync.sync(entry(b), { scheduled: true }),
    ]);
    expect(reports.filter((report) => report.elsewhere)).toHaveLength(1);
    expect(reports.filter((report) => !report.elsewhere)).toMatchObject([{ written: 1 }]);
    expect(api.listings).toBe(1);
    // Both answer from what it wrote.
    for (const one of [a, b]) {
      expect((await one.lookup('+41215522000')).hits.map((hit) => hit.match.name)).toEqual(['Alexa Holiday']);
    }
    // The next turn of both schedules: the instance that synced does it again, the other does not.
    const synced = reports[0]!.elsewhere ? b : a;
    const other = synced === a ? b : a;
    const next = await Promise.all([
      other.sync.sync(entry(other), { scheduled: true }),
      synced.sync.sync(entry(synced), { scheduled: true }),
    ]);
    expect(next.map((report) => report.elsewhere ?? false)).toEqual([true, false]);
    expect(api.listings).toBe(2);
  });

  it('a sync asked while another instance is syncing the source is not run twice', async () => {
    const [a, b] = [await core(), await core()];
    const release = api.hold();
    const first = a.sync.sync(entry(a));
    await until(() => api.listings === 1, 'the first listing');
    // Asked by hand (not on a schedule) while a's sync runs: b does not list the source too.
    expect(await b.sync.sync(entry(b))).toMatchObject({ elsewhere: true, written: 0 });
    release();
    expect(await first).toMatchObject({ written: 1 });
    expect(api.listings).toBe(1);
    // Once a's sync is over, b syncs when asked.
    expect(await b.sync.sync(entry(b))).toMatchObject({ written: 1 });
    expect(api.listings).toBe(2);
  });

  it('a call run on both instances is recorded once and delivered once', async () => {
    const [a, b] = [await core({ startDelivery: true }), await core({ startDelivery: true })];
    const call = readCallInputs({ inputs: callInputs({}) });
    const context = { baseUrl: 'http://callcard.example' };
    const answers = await Promise.all(
      [a, b, a, b].map((one) => one.workflows.get('CallFlow')!.run(call, context)),
    );
    expect(new Set(answers.map((answer) => answer.id)).size).toBe(1);
    await until(async () => (await a.store.outbox.counts()).done === 1, 'the delivery');
    const [recorded] = (await b.store.calls.list({ limit: 5 })).calls;
    expect(recorded?.receivedCount).toBe(4);
    expect(api.deliveries).toEqual([`CallFlow:${recorded!.id}:0`]);
  });

  it('another instance takes the syncs over once the one that did them has missed an interval', async () => {
    const INTERVAL = 60_000;
    let clock = 1_700_000_000_000;
    let listings = 0;
    const source: Source = {
      type: 'test',
      name: 'crm',
      async *list() {
        listings++;
        yield [{ id: 'c1', name: 'Alexa', phones: [{ value: '+41 21 552 20 00' }], customData: {} }];
      },
    };
    const mirror = { source, intervalMs: INTERVAL, fullIntervalMs: 10 * INTERVAL };
    const [storeA, storeB] = [
      await openPostgresStore({ url: pgUrl(), schema }),
      await openPostgresStore({ url: pgUrl(), schema }),
    ];
    const engine = (store: Store) =>
      createSyncEngine({ store: store.contacts, region: 'CH', logger: silent, workers: 0, now: () => clock });
    const [a, b] = [engine(storeA), engine(storeB)];
    try {
      const turn = async (engines: ReturnType<typeof engine>[]) =>
        (await Promise.all(engines.map((one) => one.sync(mirror, { scheduled: true })))).map(
          (report) => !report.elsewhere,
        );
      expect(await turn([a])).toEqual([true]);
      // Half an interval on, b's schedule comes due: a synced since b's last (never), so b leaves it.
      clock += INTERVAL / 2;
      expect(await turn([b])).toEqual([false]);
      // Both come due together, within an interval of a's sync: a goes on, b leaves it to a.
      clock += INTERVAL / 2 - 1;
      expect(await turn([a, b])).toEqual([true, false]);
      // a is gone. b's next turn is within an interval of a's last sync: a may be alive, b waits.
      await a.stop();
      clock += INTERVAL / 2;
      expect(await turn([b])).toEqual([false]);
      // a missed its turn: b takes over, and goes on.
      clock += INTERVAL;
      expect(await turn([b])).toEqual([true]);
      clock += INTERVAL;
      expect(await turn([b])).toEqual([true]);
      expect(listings).toBe(4);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await Promise.all([storeA.close(), storeB.close()]);
    }
  });
});
