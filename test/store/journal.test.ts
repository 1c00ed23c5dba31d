/**
 * The call journal's contract, run against both stores: the embedded SQLite one and PostgreSQL.
 */
import pino from 'pino';
import { expect, it } from 'vitest';
import { incomingKey } from '../../src/phone/index.js';
import type { CallQuery, NewCallRecord } from '../../src/store/types.js';
import { startRetention } from '../../src/workflows/retention.js';
import { describeStores } from './support.js';

let n = 0;
function call(fields: Partial<NewCallRecord> = {}): NewCallRecord {
  return {
    id: `call-${String(++n).padStart(5, '0')}`,
    workflow: 'CallFlow',
    direction: 'incoming',
    status: 'answered',
    originatorNumber: '41215522000',
    destinationNumber: '41445556677',
    startedTime: '2026-11-26T10:00:00Z',
    inputs: {},
    ...fields,
  };
}

const number = (raw: string): NonNullable<CallQuery['number']> => ({
  key: incomingKey(raw, 'CH')!,
  region: 'CH',
});

describeStores('call journal queries', (current) => {
  const ids = async (query: Partial<CallQuery> = {}) =>
    (await current().store.calls.list({ limit: 100, ...query })).calls.map((c) => c.id);

  it('lists newest first by the time the call started, whatever zone it was written in', async () => {
    await current().store.calls.record(call({ id: 'b', startedTime: '2026-11-26T11:00:00Z' }));
    await current().store.calls.record(call({ id: 'a', startedTime: '2026-11-26T10:00:00Z' }));
    // 10:30 UTC, written with an offset and a space.
    await current().store.calls.record(call({ id: 'c', startedTime: '2026-11-26 11:30:00+0100' }));
    // 23:00:00.5 UTC the day before its local date.
    await current().store.calls.record(call({ id: 'd', startedTime: '2026-11-27T00:00:00.5+01:00' }));
    expect(await ids()).toEqual(['d', 'b', 'c', 'a']);
    // The listed records are the records, without the internal sort column.
    const [first] = (await current().store.calls.list({ limit: 1 })).calls;
    expect(first).toEqual(await current().store.calls.get('d'));
    expect(first).not.toHaveProperty('startedAt');
  });

  it('filters by time range, direction, status and contact', async () => {
    await current().store.calls.record(
      call({ id: 'early', startedTime: '2026-11-25T23:59:59Z', contactCrmId: 'c1' }),
    );
    await current().store.calls.record(
      call({ id: 'in', startedTime: '2026-11-26T00:00:00Z', contactCrmId: 'c1' }),
    );
    await current().store.calls.record(
      call({ id: 'out', direction: 'outgoing', startedTime: '2026-11-26T12:00:00Z', contactCrmId: 'c2' }),
    );
    await current().store.calls.record(
      call({ id: 'missed', status: 'missed', startedTime: '2026-11-26T23:59:59.999Z', contactCrmId: 'c1' }),
    );
    await current().store.calls.record(call({ id: 'late', startedTime: '2026-11-27T00:00:00Z' }));
    const day = { from: new Date('2026-11-26T00:00:00Z'), to: new Date('2026-11-27T00:00:00Z') };
    expect(await ids(day)).toEqual(['missed', 'out', 'in']);
    expect(await ids({ from: day.from })).toEqual(['late', 'missed', 'out', 'in']);
    expect(await ids({ to: day.from })).toEqual(['early']);
    expect(await ids({ direction: 'outgoing' })).toEqual(['out']);
    expect(await ids({ ...day, direction: 'incoming' })).toEqual(['missed', 'in']);
    expect(await ids({ status: 'missed' })).toEqual(['missed']);
    expect(await ids({ contactCrmId: 'c1' })).toEqual(['missed', 'in', 'early']);
    expect(await ids({ contactCrmId: 'c1', status: 'answered', ...day })).toEqual(['in']);
    expect(await ids({ contactCrmId: 'nobody' })).toEqual([]);
  });

  it('matches a number in any form against originator and destination by canonical key', async () => {
    await current().store.calls.record(call({ id: 'digits', originatorNumber: '41215522000' }));
    await current().store.calls.record(call({ id: 'spaced', originatorNumber: '+41 21 552 20 00' }));
    await current().store.calls.record(call({ id: 'national', originatorNumber: '021 552 20 00' }));
    await current().store.calls.record(call({ id: 'zeros', originatorNumber: '0041215522000' }));
    await current().store.calls.record(
      call({
        id: 'dialled',
        direction: 'outgoing',
        originatorNumber: '2001',
        destinationNumber: '0215522000',
      }),
    );
    // Same trailing digits, another country; another number; withheld; an internal extension.
    await current().store.calls.record(call({ id: 'france', originatorNumber: '33215522000' }));
    await current().store.calls.record(call({ id: 'other', originatorNumber: '41215522001' }));
    await current().store.calls.record(call({ id: 'withheld', originatorNumber: 'anonymous' }));
    await current().store.calls.record(
      call({ id: 'internal', originatorNumber: '2001', destinationNumber: '2002' }),
    );

    const same = ['digits', 'spaced', 'national', 'zeros', 'dialled'];
    for (const form of ['41215522000', '+41 21 552 20 00', '021 552 20 00', '0041 21 552 20 00']) {
      expect((await ids({ number: number(form) })).sort()).toEqual([...same].sort());
    }
    expect(await ids({ number: number('+33 2 15 52 20 00') })).toEqual(['france']);
    // Short internal numbers match exactly, never as the end of a longer number.
    expect((await ids({ number: number('2001') })).sort()).toEqual(['dialled', 'internal']);
    expect(await ids({ number: number('2002') })).toEqual(['internal']);
    expect(await ids({ number: number('41215522000'), direction: 'outgoing' })).toEqual(['dialled']);
  });

  it('pages through calls with a cursor, calls at the same time included once', async () => {
    for (let i = 0; i < 7; i++) {
      await current().store.calls.record(call({ id: `same-${i}`, startedTime: '2026-11-26T10:00:00Z' }));
    }
    await current().store.calls.record(call({ id: 'newer', startedTime: '2026-11-26T11:00:00Z' }));
    const seen: string[] = [];
    let after: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await current().store.calls.list({ limit: 3, ...(after !== undefined && { after }) });
      seen.push(...page.calls.map((c) => c.id));
      if (page.next === undefined) break;
      after = page.next;
    }
    expect(seen).toEqual(['newer', 'same-6', 'same-5', 'same-4', 'same-3', 'same-2', 'same-1', 'same-0']);
    expect((await current().store.calls.list({ limit: 8 })).next).toBeUndefined();
    await expect(current().store.calls.list({ limit: 1, after: 'nonsense' })).rejects.toThrow(/cursor/);
  });

  it('dates a call without a start time by when it was recorded, until a later delivery brings one', async () => {
    const before = Date.now();
    const { record } = await current().store.calls.record(call({ id: 'x', startedTime: undefined }));
    await current().store.calls.record(call({ id: 'old', startedTime: '2020-01-01T00:00:00Z' }));
    expect(await ids({ from: new Date(before - 1000) })).toEqual(['x']);
    expect(Date.parse(record.createdAt)).toBeGreaterThanOrEqual(before - 5);
    await current().store.calls.record(call({ id: 'x', startedTime: '2019-06-01T00:00:00Z' }));
    expect(await ids()).toEqual(['old', 'x']);
    // A later delivery without a start time keeps it.
    await current().store.calls.record(call({ id: 'x', startedTime: undefined }));
    expect(await ids({ to: new Date('2020-01-01T00:00:00Z') })).toEqual(['x']);
  });

  it('purges calls that started before a date, in batches, and answers how many', async () => {
    const journal = current().store.calls;
    // More than one batch of old calls.
    for (let i = 0; i < 4500; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          journal.record(call({ id: `old-${i + j}`, startedTime: '2024-01-01T00:00:00Z' })),
        ),
      );
    }
    await journal.record(call({ id: 'edge', startedTime: '2025-01-01T00:00:00Z' }));
    await journal.record(call({ id: 'new', startedTime: '2026-01-01T00:00:00Z' }));
    expect(await journal.purge(new Date('2025-01-01T00:00:00Z'))).toBe(4500);
    expect(await ids()).toEqual(['new', 'edge']);
    expect(await journal.get('old-1')).toBeUndefined();
    expect(await journal.purge(new Date('2025-01-01T00:00:00Z'))).toBe(0);
    await expect(journal.purge(new Date(Number.NaN))).rejects.toThrow(/invalid/);
  });
});

describeStores('call journal records', (current) => {
  it('records a call once per id: a repeat completes it, merges its inputs and counts it', async () => {
    const journal = current().store.calls;
    const first = await journal.record(
      call({ id: 'x', status: 'missed', answeredTime: undefined, inputs: { a: 1, nested: { b: 2, c: 3 } } }),
    );
    expect(first.created).toBe(true);
    expect(first.record).toMatchObject({ id: 'x', status: 'missed', receivedCount: 1 });
    const again = await journal.record(
      call({
        id: 'x',
        status: 'missed',
        originatorName: 'Alexa',
        answeredTime: '2026-11-26T10:00:05Z',
        inputs: { nested: { c: null, d: 4 }, e: 'five' },
      }),
    );
    expect(again.created).toBe(false);
    // Known values stay; new ones are taken; answered once an answer time is known.
    expect(again.record).toMatchObject({
      id: 'x',
      status: 'answered',
      originatorName: 'Alexa',
      originatorNumber: '41215522000',
      answeredTime: '2026-11-26T10:00:05Z',
      receivedCount: 2,
    });
    expect(again.record.inputs).toEqual({ a: 1, nested: { b: 2, d: 4 }, e: 'five' });
    expect(await journal.get('x')).toEqual(again.record);
    expect(await journal.get('missing')).toBeUndefined();
  });

  it('keeps the first answer id of a call for every repeat', async () => {
    const journal = current().store.calls;
    await journal.record(call({ id: 'x' }));
    expect(await journal.answer('x', 'first')).toBe('first');
    expect(await journal.answer('x', 'second')).toBe('first');
    // A call not recorded keeps nothing: the id asked is answered.
    expect(await journal.answer('nobody', 'mine')).toBe('mine');
  });

  it('the same call recorded at once through two handles is one record, counted twice', async () => {
    const other = await current().another();
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? current().store : other).calls.record(call({ id: 'same', inputs: { [`k${i}`]: i } })),
      ),
    );
    expect(results.filter((result) => result.created)).toHaveLength(1);
    const stored = await current().store.calls.get('same');
    expect(stored?.receivedCount).toBe(10);
    expect(Object.keys(stored!.inputs).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`).sort());
    expect((await current().store.calls.list({ limit: 10 })).calls).toHaveLength(1);
  });
});

describeStores('startRetention', (current) => {
  it('purges calls older than the retention on its schedule, and stops', async () => {
    const { store } = current();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
    await store.calls.record(call({ id: 'old', startedTime: old }));
    await store.calls.record(call({ id: 'recent', startedTime: new Date().toISOString() }));
    const retention = startRetention(store.calls, 30, logger, { delayMs: 5, intervalMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await retention.stop();
    expect((await store.calls.list({ limit: 10 })).calls.map((c) => c.id)).toEqual(['recent']);
    expect(lines.filter((l) => l.includes('old calls removed'))).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ removed: 1, days: 30 });

    // null: calls are kept for ever.
    await store.calls.record(call({ id: 'ancient', startedTime: '2000-01-01T00:00:00Z' }));
    const off = startRetention(store.calls, null, logger, { delayMs: 1, intervalMs: 1 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await off.stop();
    expect(await store.calls.get('ancient')).toBeDefined();
  });

  it('removes finished deliveries past their retention, never pending or running ones', async () => {
    const { store } = current();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const DAY = 86_400_000;
    const delivery = (id: string, orderKey = id) => ({
      id,
      workflow: 'CallFlow',
      callId: id,
      action: 0,
      actionType: 'webhook',
      orderKey,
      payload: { call: { originatorNumber: '41215522000' } },
      maxAttempts: 1,
    });
    const long = Date.now() - 100 * DAY;
    await store.outbox.enqueue(
      ['done-old', 'dead-old', 'running-old'].map((id) => delivery(id)),
      long,
    );
    // 100 days ago: one done, one dead (its only attempt failed), one still running (a long lease).
    for (const id of ['done-old', 'dead-old', 'running-old']) {
      const [claimed] = await store.outbox.claim('w', long, 3_600_000 * 24 * 365, 1);
      expect(claimed?.id).toBe(id);
      if (id === 'done-old') await store.outbox.complete(id, 'w', { id: 'r1' }, long);
      if (id === 'dead-old') await store.outbox.fail(id, 'w', 'refused', undefined, long);
    }
    await store.outbox.enqueue([delivery('done-recent')], Date.now());
    const [recent] = await store.outbox.claim('w', Date.now(), 1000, 1);
    await store.outbox.complete(recent!.id, 'w', { id: 'r2' }, Date.now());
    // Waiting since then for a target that never took it.
    await store.outbox.enqueue([delivery('pending-old')], long);

    const retention = startRetention(store.calls, null, logger, {
      delayMs: 5,
      intervalMs: 60_000,
      outbox: { store: store.outbox, days: 90 },
    });
    await expect.poll(() => lines.some((line) => line.includes('finished deliveries removed'))).toBe(true);
    await retention.stop();
    const left = (await store.outbox.list({})).map((item) => `${item.id}:${item.status}`).sort();
    expect(left).toEqual(['done-recent:done', 'pending-old:pending', 'running-old:running']);
    expect(JSON.parse(lines.find((line) => line.includes('finished deliveries removed'))!)).toMatchObject({
      removed: 2,
      days: 90,
    });
    // A purge with a later limit takes the recent one too; pending and running ones still stay.
    expect(await store.outbox.purge(Date.now() + DAY)).toBe(1);
    expect((await store.outbox.list({})).map((item) => item.status).sort()).toEqual(['pending', 'running']);
  });
});
