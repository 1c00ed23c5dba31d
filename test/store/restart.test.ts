/**
 * PostgreSQL restarts and stops under a serving instance: lookups keep answering `200` (numbers
 * looked up before from the instance's read cache), CallFlows are accepted or refused with `503`
 * and `Retry-After`, every accepted one is in the journal and delivered once, `/readyz` follows the
 * store, and nothing stops the process. On a private cluster of the test's own (initdb/pg_ctl),
 * never the machine's shared server: skipped with a message without the server binaries, a failure
 * under CI.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AUTH, build, type TestService } from '../support/helper.js';
import { type PrivatePg, privatePgUnavailable, startPrivatePg } from '../support/private-pg.js';
import { describeWithServer } from '../support/sql.js';
import { callInputs } from '../support/workflows.js';

/** A webhook target that counts deliveries by idempotency key. */
async function startHook() {
  const received = new Map<string, number>();
  const server: Server = createServer(async (request, response) => {
    for await (const _ of request) {
      // the body is not looked at
    }
    if (request.url?.startsWith('/contacts')) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify([{ id: 'm1', name: 'Mirrored', phone: '+41 21 552 29 00' }]));
      return;
    }
    const key = String(request.headers['idempotency-key']);
    received.set(key, (received.get(key) ?? 0) + 1);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ record: { id: `T-${received.size}` } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    received,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 30_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const NUMBERS = ['41215522001', '41215522002', '41215522003', '41215522004'];

describeWithServer('a PostgreSQL restart under a serving instance', privatePgUnavailable(), () => {
  let server: PrivatePg;
  let hook: Awaited<ReturnType<typeof startHook>>;
  let service: TestService;
  const crashes: unknown[] = [];
  const logLines: string[] = [];
  const onCrash = (error: unknown) => crashes.push(error);
  /** Ids of the CallFlows answered 200. */
  const accepted = new Set<string>();
  let calls = 0;

  beforeAll(async () => {
    process.on('unhandledRejection', onCrash);
    process.on('uncaughtException', onCrash);
    server = await startPrivatePg();
    hook = await startHook();
    service = await build(
      {
        store: { type: 'postgres', url: server.url, schema: 'callcard_restart' },
        metrics: { token: 'metrics-token-0123456789' },
        workflows: { CallFlow: { actions: [{ type: 'webhook', url: hook.url, maxAttempts: 50 }] } },
        delivery: { pollMs: 100, backoffBaseMs: 100, backoffMaxMs: 1000 },
        sources: [
          { type: 'embedded', name: 'contacts' },
          {
            // A mirrored source synced every second, on the store's schedule.
            type: 'rest',
            name: 'crm',
            mode: 'mirror',
            baseUrl: hook.base,
            auth: { type: 'none' },
            list: { request: { url: '/contacts' }, pagination: { type: 'none' } },
            fields: { id: 'id', name: 'name', phones: 'phone' },
            sync: { intervalMs: 1000 },
          },
        ],
      } as never,
      logLines,
      { startDelivery: true, startSync: true },
    );
    await until(ready, 'the first sync');
    await service.importCsv(
      `id,name,phone\n${NUMBERS.map((number, i) => `c${i},Contact ${i},+${number}`).join('\n')}\n`,
    );
  }, 120_000);
  afterAll(async () => {
    await service?.close();
    await hook?.close();
    await server?.remove();
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
  });

  const lookup = (number: string) =>
    service.app.inject({
      method: 'POST',
      url: '/Lookup',
      headers: AUTH,
      payload: { inputs: { phoneNumber: number } },
    });
  /** Posts a new call; answers its status, and keeps its id when accepted. */
  const callFlow = async () => {
    const n = ++calls;
    const started = new Date(Date.UTC(2026, 10, 26, 10, 0, n)).toISOString();
    const answer = await service.app.inject({
      method: 'POST',
      url: '/CallFlow',
      headers: AUTH,
      payload: { inputs: callInputs({ startedTime: started, originatorNumber: NUMBERS[n % 4]! }) },
    });
    if (answer.statusCode === 200) accepted.add(answer.json().id);
    else {
      expect(answer.statusCode).toBe(503);
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
      expect(answer.json()).toEqual({ error: { code: 'STORE_UNAVAILABLE', message: expect.any(String) } });
    }
    return answer.statusCode;
  };
  const ready = async () => (await service.app.inject({ method: 'GET', url: '/readyz' })).statusCode === 200;
  /** Every number gets its contact, with 200. */
  const allFound = async () => {
    for (const [i, number] of NUMBERS.entries()) {
      const answer = await lookup(number);
      expect(answer.statusCode).toBe(200);
      expect(answer.json()).toMatchObject([{ id: `c${i}`, name: `Contact ${i}` }]);
    }
  };

  it('answers lookups from the store, and takes calls', async () => {
    await allFound();
    expect(await callFlow()).toBe(200);
    expect(await ready()).toBe(true);
  });

  it('while the server is stopped: lookups 200 from the cache, calls refused with 503, not ready', async () => {
    await server.stop();
    await allFound();
    // A number never looked up has nothing to answer from: an empty card, still 200.
    const unknown = await lookup('41215529999');
    expect(unknown.statusCode).toBe(200);
    expect(unknown.json()).toEqual([]);
    for (let i = 0; i < 3; i++) expect(await callFlow()).toBe(503);
    expect(await ready()).toBe(false);
    // The mirror's schedule comes due meanwhile: its sync fails, says so, and the process goes on.
    await until(
      () => logLines.some((line) => line.includes('sync failed: the store does not answer')),
      'a sync while stopped',
    );

    await server.start();
    await until(ready, 'ready again');
    expect(await callFlow()).toBe(200);
    await allFound();
    const mirrored = await lookup('41215522900');
    expect(mirrored.json()).toMatchObject([{ id: 'm1', name: 'Mirrored' }]);
  });

  it('during a restart: every lookup 200, every call 200 or 503', async () => {
    let restarting = true;
    const traffic = (async () => {
      const statuses: number[] = [];
      while (restarting) {
        await allFound();
        statuses.push(await callFlow());
      }
      return statuses;
    })();
    // A failed check is reported by the await below, not as an unhandled rejection meanwhile.
    traffic.catch(() => {});
    await server.restart();
    restarting = false;
    const statuses = await traffic;
    expect(statuses.length).toBeGreaterThan(0);
    await until(ready, 'ready again');
    expect(await callFlow()).toBe(200);
  });

  it('every accepted call is in the journal and delivered once; the process went on', async () => {
    for (const id of accepted) expect(await service.store.calls.get(id)).toBeDefined();
    await until(async () => hook.received.size >= accepted.size, 'the deliveries', 60_000);
    await until(async () => (await service.store.outbox.counts()).done === accepted.size, 'done');
    expect([...hook.received.keys()].sort()).toEqual([...accepted].map((id) => `CallFlow:${id}:0`).sort());
    expect([...hook.received.values()].every((count) => count === 1)).toBe(true);
    expect(crashes).toEqual([]);
  });
});
