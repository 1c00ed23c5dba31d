import { expect, it } from 'vitest';
import type { Submission } from '../../src/store/outbox-types.js';
import type { NewCallRecord } from '../../src/store/types.js';
import { describeStores } from './support.js';

const CALL: NewCallRecord = {
  id: 'call-1',
  workflow: 'CallFlow',
  direction: 'incoming',
  status: 'missed',
  originatorNumber: '41215522000',
  startedTime: '2026-11-26T10:00:00Z',
  inputs: { originatorNumber: '41215522000' },
};

const delivery = (payload: Record<string, unknown>, version: number): Submission => ({
  id: 'CallFlow:call-1:0',
  workflow: 'CallFlow',
  callId: 'call-1',
  action: 0,
  actionType: 'webhook',
  orderKey: 'CallFlow:41215522000',
  payload,
  maxAttempts: 3,
  updates: false,
  version,
});

describeStores('a call and its deliveries, written together', (current) => {
  it('records the call and submits what the builder makes of the call as recorded', async () => {
    const seen: unknown[] = [];
    const { record, created } = await current().store.intake.recordWithDeliveries(
      CALL,
      (recorded, before) => {
        seen.push(before.length);
        return [delivery({ status: recorded.status, count: recorded.receivedCount }, recorded.receivedCount)];
      },
      1000,
    );
    expect(created).toBe(true);
    expect(record.receivedCount).toBe(1);
    const [first] = await current().store.outbox.forCall('CallFlow', 'call-1');
    expect(first).toMatchObject({ status: 'pending', payload: { status: 'missed', count: 1 }, nextAt: 1000 });

    // A repeat sees the call merged with the earlier post, and the delivery made of it.
    const again = await current().store.intake.recordWithDeliveries(
      { ...CALL, status: 'answered', answeredTime: '2026-11-26T10:00:05Z' },
      (recorded, before) => {
        seen.push(before.map((d) => d.payload));
        return [delivery({ status: recorded.status, count: recorded.receivedCount }, recorded.receivedCount)];
      },
      2000,
    );
    expect(again.created).toBe(false);
    expect(seen).toEqual([0, [{ status: 'missed', count: 1 }]]);
    expect((await current().store.outbox.forCall('CallFlow', 'call-1')).map((d) => d.payload)).toEqual([
      { status: 'answered', count: 2 },
    ]);
  });

  it('records nothing when the deliveries cannot be made: the call and its deliveries are one write', async () => {
    await expect(
      current().store.intake.recordWithDeliveries(
        CALL,
        () => {
          throw new Error('no payload');
        },
        1000,
      ),
    ).rejects.toThrow('no payload');
    expect(await current().store.calls.get('call-1')).toBeUndefined();
    expect(await current().store.outbox.forCall('CallFlow', 'call-1')).toEqual([]);
  });
});

describeStores('the same call given to two instances at once', (current) => {
  it('is one record and one delivery, whichever gets there first', async () => {
    const other = await current().another();
    const post = (store: typeof other, n: number) =>
      store.intake.recordWithDeliveries(
        { ...CALL, inputs: { ...CALL.inputs, [`post${n}`]: true } },
        (recorded, before) =>
          before.length > 0 ? [] : [delivery({ count: recorded.receivedCount }, recorded.receivedCount)],
        1000 + n,
      );
    const results = await Promise.all([post(current().store, 1), post(other, 2), post(current().store, 3)]);
    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect((await current().store.calls.get('call-1'))?.receivedCount).toBe(3);
    expect(await other.outbox.forCall('CallFlow', 'call-1')).toHaveLength(1);
  });
});
