import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Delivery } from '../../src/store/outbox-types.js';
import { AUTH, build, type TestService } from '../support/helper.js';
import { callInputs, deliveringService, postCall } from '../support/workflows.js';

/** A CRM's or an automation tool's webhook endpoint, scripted per test. */
interface Received {
  key: string | undefined;
  body: Record<string, unknown>;
}

function target() {
  const received: Received[] = [];
  let reply: (
    request: Received,
    n: number,
  ) => { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number } = () => ({
    status: 200,
    body: {},
  });
  const server: Server = createServer(async (request: IncomingMessage, response) => {
    let text = '';
    for await (const chunk of request) text += chunk;
    const entry = { key: request.headers['idempotency-key'] as string | undefined, body: JSON.parse(text) };
    received.push(entry);
    const answer = reply(entry, received.length);
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    response.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
  });
  return {
    received,
    set(next: typeof reply) {
      reply = next;
    },
    async start() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const CALL = callInputs({ contactCrmId: 'c1', userCrmId: 'u7', queue: 'Support' });

async function until(check: () => boolean | Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('workflows with a webhook action', () => {
  let hook: ReturnType<typeof target>;
  let service: TestService;
  const post = (name: string, inputs: unknown) => postCall(service, inputs, name);

  async function start(extra: Record<string, unknown> = {}, budgetMs = 1500) {
    const url = await hook.start();
    service = await deliveringService(
      {
        workflows: {
          CallFlow: {
            actions: [
              { type: 'webhook', url, response: { id: 'record.id', url: 'record.url' }, maxAttempts: 3 },
            ],
          },
          ...extra,
        },
        delivery: { answerBudgetMs: budgetMs, backoffBaseMs: 100, backoffMaxMs: 1000 },
      },
      'id,name,company,phone\nc1,Alexa Holiday,White Cross Co,021 552 20 00\n',
    );
  }

  beforeEach(() => {
    hook = target();
  });
  afterEach(async () => {
    await service?.close();
    await hook.close();
  });

  it("delivers the call with the matched contact; the answer's url is the record the target made", async () => {
    hook.set(() => ({ status: 201, body: { record: { id: 'T-1', url: 'https://crm.example/calls/T-1' } } }));
    await start();
    const response = await post('CallFlow', CALL);
    expect(response.statusCode).toBe(200);
    const answer = response.json();
    expect(answer).toEqual({ id: 'T-1', url: 'https://crm.example/calls/T-1' });
    expect(hook.received).toHaveLength(1);
    const [sent] = hook.received;
    const callId = sent?.body['callId'] as string;
    expect(callId).toMatch(/^[\w-]{22}$/);
    expect(sent?.key).toBe(`CallFlow:${callId}:0`);
    expect(sent?.body).toMatchObject({
      workflow: 'CallFlow',
      call: {
        contactCrmId: 'c1',
        direction: 'incoming',
        status: 'answered',
        durationSeconds: 120,
        queue: 'Support',
      },
      contact: { id: 'c1', name: 'Alexa Holiday', company: 'White Cross Co', source: 'contacts' },
    });
  });

  it('the same call sent again, or concurrently, is delivered once and answered with the same id', async () => {
    hook.set(() => ({ status: 200, body: { record: { id: 'T-2', url: 'https://crm.example/calls/T-2' } } }));
    await start();
    const answers = await Promise.all([
      post('CallFlow', CALL),
      post('CallFlow', CALL),
      post('CallFlow', CALL),
    ]);
    const again = await post('CallFlow', { ...CALL, originatorNumber: '+41 21 552 20 00' });
    const ids = new Set([...answers, again].map((a) => a.json().id));
    expect(ids.size).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hook.received).toHaveLength(1);
  });

  it('answers at once with its own page when the target is slow; the page then leads to the record, repeats keep the id', async () => {
    hook.set(() => ({
      status: 200,
      body: { record: { url: 'https://crm.example/calls/T-3' } },
      delayMs: 600,
    }));
    await start({}, 100);
    const answer = (await post('CallFlow', CALL)).json();
    expect(answer.url).toMatch(/\/calls\/[\w-]{22}$/);
    const path = new URL(answer.url).pathname;
    const pending = await service.app.inject({ method: 'GET', url: path });
    expect(pending.statusCode).toBe(200);
    expect(pending.body).toMatch(/being delivered|waiting to be delivered/);
    await until(async () => (await service.app.inject({ method: 'GET', url: path })).statusCode === 302);
    const done = await service.app.inject({ method: 'GET', url: path });
    expect(done.headers.location).toBe('https://crm.example/calls/T-3');
    // Sent again once the record exists: the same id as the first answer, and the record's url.
    const again = (await post('CallFlow', CALL)).json();
    expect(again).toEqual({ id: answer.id, url: 'https://crm.example/calls/T-3' });
    expect(hook.received).toHaveLength(1);
  });

  it('answers with its own page as soon as an attempt fails, without waiting out the budget', async () => {
    hook.set(() => ({ status: 503 }));
    await start({}, 5_000);
    const answer = (await post('CallFlow', CALL)).json();
    expect(answer.url).toMatch(/\/calls\/[\w-]{22}$/);
    // The answer came after the failed attempt, not at the end of the 5 s budget: the delivery was
    // still waiting for its first retry when the answer was read.
    const [delivery] = await service.store.outbox.forCall('CallFlow', answer.id);
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1 });
    expect(delivery?.lastError).toMatch(/503/);
  });

  it('retries a target that fails, honours Retry-After, and delivers once it answers', async () => {
    // The delivery as the worker wrote it back after each failed attempt: waited for while the
    // attempt runs, read before the next one is claimed.
    const failed: Promise<Delivery | undefined>[] = [];
    let thirdAt = 0;
    hook.set((request, n) => {
      if (n <= 2) failed.push(service.delivery.waitFor(request.key!, 10_000));
      if (n === 1) return { status: 503 };
      if (n === 2) return { status: 429, headers: { 'retry-after': '1' } };
      thirdAt = Date.now();
      return { status: 200, body: { record: { id: 'T-4' } } };
    });
    await start({}, 0);
    await post('CallFlow', CALL);
    await until(async () => (await service.store.outbox.counts()).done === 1);
    expect(hook.received).toHaveLength(3);
    expect(new Set(hook.received.map((r) => r.key)).size).toBe(1);
    const [afterError, afterTooMany] = await Promise.all(failed);
    // A failure waits out the backoff: 100 ms after the first attempt, less its jitter.
    expect(afterError).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: expect.stringMatching(/503/),
    });
    expect(afterError!.nextAt - afterError!.updatedAt).toBeLessThanOrEqual(100);
    // A 429 waits out the target's Retry-After of one second instead of the backoff (200 ms at most).
    expect(afterTooMany).toMatchObject({
      status: 'pending',
      attempts: 2,
      lastError: expect.stringMatching(/429/),
    });
    expect(afterTooMany!.nextAt - afterTooMany!.updatedAt).toBe(1000);
    // And the third attempt was not made before it was due.
    expect(thirdAt).toBeGreaterThanOrEqual(afterTooMany!.nextAt);
  });

  it('a call completed by a later post while its delivery waits for a retry is delivered as it is then', async () => {
    const started = { ...CALL, answeredTime: undefined, endedTime: undefined };
    let down = true;
    // Down, it asks for two seconds: the retry is not under way while the call is posted again.
    hook.set(() =>
      down
        ? { status: 503, headers: { 'retry-after': '2' } }
        : { status: 201, body: { record: { id: 'T-9' } } },
    );
    await start({}, 0);
    const first = (await post('CallFlow', started)).json();
    await until(async () => {
      const [delivery] = await service.store.outbox.forCall('CallFlow', first.id);
      return delivery?.status === 'pending' && delivery.attempts === 1;
    });
    // The same call, now answered and ended, while the first attempt's retry is pending.
    const second = (await post('CallFlow', CALL)).json();
    down = false;
    expect(second.id).toBe(first.id);
    await until(async () => (await service.store.outbox.counts()).done === 1);
    const delivered = hook.received.at(-1)!;
    expect(delivered.key).toBe(`CallFlow:${first.id}:0`);
    expect(delivered.body['call']).toMatchObject({
      status: 'answered',
      durationSeconds: 120,
      answeredTime: CALL.answeredTime,
      endedTime: CALL.endedTime,
    });
    expect(delivered.body['update']).toBeUndefined();
    expect(
      hook.received.filter((r) => r.body['update'] === undefined && r.key === delivered.key).length,
    ).toBe(hook.received.length);
  });

  it('a call completed after its delivery was made is sent again as an update, with its own key; a repeat is not', async () => {
    hook.set((_request, n) => ({ status: 201, body: { record: { id: `T-${n}` } } }));
    await start({}, 0);
    const started = { ...CALL, answeredTime: undefined, endedTime: undefined };
    const { id } = (await post('CallFlow', started)).json();
    await until(async () => (await service.store.outbox.counts()).done === 1);
    expect(hook.received[0]?.body['call']).toMatchObject({ status: 'missed' });

    await post('CallFlow', CALL);
    await until(async () => (await service.store.outbox.counts()).done === 2);
    const update = hook.received[1]!;
    expect(update.key).toBe(`CallFlow:${id}:0:update:1`);
    expect(update.body['update']).toEqual({ of: `CallFlow:${id}:0`, id: 'T-1' });
    expect(update.body['call']).toMatchObject({ status: 'answered', durationSeconds: 120 });
    expect(update.body['callId']).toBe(id);

    // The same details again (a number written another way too): nothing more is sent.
    await post('CallFlow', CALL);
    await post('CallFlow', { ...CALL, originatorNumber: '+41 21 552 20 00' });
    await post('CallFlow', started);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await service.store.outbox.counts()).toMatchObject({ pending: 0, running: 0, done: 2 });
    expect(hook.received).toHaveLength(2);
    // The journal shows what was delivered.
    expect(await service.store.calls.get(id)).toMatchObject({ status: 'answered', durationSeconds: 120 });
  });

  it('gives up on a target that refuses the call (4xx), and says so on the page', async () => {
    hook.set(() => ({ status: 400 }));
    await start({}, 0);
    const answer = (await post('CallFlow', CALL)).json();
    await until(async () => (await service.store.outbox.counts()).dead === 1);
    expect(hook.received).toHaveLength(1);
    const page = await service.app.inject({ method: 'GET', url: new URL(answer.url).pathname });
    expect(page.body).toContain('not delivered');
  });

  it('records a call without a contact, and sends it with contact null; future fields are passed on', async () => {
    hook.set(() => ({ status: 200, body: {} }));
    await start({}, 0);
    const answer = (
      await post('CallFlow', {
        ...CALL,
        contactCrmId: '',
        originatorNumber: '41790000000',
        newField: { a: 1 },
      })
    ).json();
    await until(() => hook.received.length === 1);
    expect(hook.received[0]?.body).toMatchObject({ contact: null, call: { newField: { a: 1 } } });
    expect(await service.store.calls.get(answer.id)).toMatchObject({ originatorNumber: '41790000000' });
  });

  it('offers a workflow only on the cards of the sources it is limited to', async () => {
    service = await build({
      sources: [{ type: 'embedded' }, { type: 'embedded', name: 'other' }],
      workflows: { CreateTicket: { sources: ['other'] } },
    });
    await service.importCsv('id,name,phone\nc1,Alexa,021 552 20 00\n');
    await service.importCsv('id,name,phone\nx1,Xaver,021 552 20 00\n', { source: 'other' });
    const cards = (
      await service.app.inject({
        method: 'POST',
        url: '/Lookup',
        headers: AUTH,
        payload: { inputs: { phoneNumber: '41215522000' } },
      })
    ).json();
    expect(cards.map((c: { id: string; crmActions: string[] }) => [c.id, c.crmActions])).toEqual([
      ['c1', ['CallFlow']],
      ['x1', ['CallFlow', 'CreateTicket']],
    ]);
    expect((await post('createticket', CALL)).statusCode).toBe(200);
  });

  it('refuses a workflow limited to a source that does not exist', async () => {
    await expect(build({ workflows: { Callback: { sources: ['nope'] } } })).rejects.toThrow(
      /workflows\.Callback\.sources\.0: no source named "nope"/,
    );
  });
});
