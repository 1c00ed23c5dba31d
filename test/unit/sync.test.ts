import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RawContact } from '../../src/contacts/raw-contact.js';
import { FullListingNeeded, type ListOptions, type Source } from '../../src/sources/types.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { createSyncEngine, type MirrorEntry } from '../../src/sync/engine.js';
import { tempDir } from '../support/helper.js';

const contact = (
  id: string,
  phone: string,
  updatedAt: number,
  extra: Partial<RawContact> = {},
): RawContact => ({
  id,
  name: `Name ${id}`,
  phones: [{ value: phone }],
  customData: {},
  updatedAt,
  ...extra,
});

/** A source backed by an array, as a CRM's listing would be: everything, or what changed since. */
function arraySource(rows: RawContact[]) {
  const calls: (number | undefined)[] = [];
  let failing: Error | undefined;
  let version: string | undefined;
  const source: Source = {
    type: 'test',
    name: 'crm',
    async *list({ since }: ListOptions) {
      calls.push(since);
      if (failing) throw failing;
      const selected = rows.filter((row) => since === undefined || (row.updatedAt ?? 0) > since);
      yield selected.filter((row) => since !== undefined || !row.deleted);
    },
    async version() {
      return version;
    },
  };
  return {
    source,
    calls,
    fail: (error?: Error) => {
      failing = error;
    },
    setVersion: (value: string | undefined) => {
      version = value;
    },
  };
}

describe('sync engine', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: Store;
  let clock: number;
  beforeEach(() => {
    dir = tempDir();
    store = openSqliteStore(dir.path);
    clock = 10_000_000;
  });
  afterEach(async () => {
    await store.close();
    dir.remove();
  });

  const engine = () =>
    createSyncEngine({
      store: store.contacts,
      region: 'CH',
      logger: pino({ level: 'silent' }),
      workers: 0,
      now: () => clock,
    });
  const entry = (source: Source): MirrorEntry => ({ source, intervalMs: 60_000, fullIntervalMs: 3_600_000 });
  const ids = async (key: string) => (await store.contacts.findByKey('crm', key, 5)).map((m) => m.id);

  it('lists everything first, then asks only for changes since the latest change time', async () => {
    const rows = [contact('1', '021 552 20 01', 1_000_000), contact('2', '021 552 20 02', 2_000_000)];
    const crm = arraySource(rows);
    const sync = engine();
    const first = await sync.sync(entry(crm.source));
    expect(first).toMatchObject({ full: true, read: 2, written: 2 });
    rows[0] = contact('1', '021 552 20 09', 5_000_000);
    clock += 60_000;
    const second = await sync.sync(entry(crm.source));
    // Changes are asked with an overlap, for rows committed late with an earlier time: row 2 comes again.
    expect(second).toMatchObject({ full: false, read: 2, written: 2 });
    expect(crm.calls).toEqual([undefined, 2_000_000 - 60_000]);
    expect(await ids('+41215522009')).toEqual(['1']);
    expect(await ids('+41215522001')).toEqual([]);
    expect(await ids('+41215522002')).toEqual(['2']);
  });

  it('removes contacts the source marks deleted in a listing of changes', async () => {
    const rows = [contact('1', '021 552 20 01', 1_000_000), contact('2', '021 552 20 02', 1_000_000)];
    const crm = arraySource(rows);
    const sync = engine();
    await sync.sync(entry(crm.source));
    rows[1] = { ...rows[1]!, deleted: true, updatedAt: 3_000_000 };
    clock += 60_000;
    expect(await sync.sync(entry(crm.source))).toMatchObject({ full: false, removed: 1 });
    expect(await ids('+41215522002')).toEqual([]);
    expect(await store.contacts.count('crm')).toBe(1);
  });

  it('catches rows removed from the source on the next full listing', async () => {
    const rows = [contact('1', '021 552 20 01', 1_000_000), contact('2', '021 552 20 02', 1_000_000)];
    const crm = arraySource(rows);
    const sync = engine();
    await sync.sync(entry(crm.source));
    rows.pop();
    clock += 60_000;
    expect(await sync.sync(entry(crm.source))).toMatchObject({ full: false });
    expect(await ids('+41215522002')).toEqual(['2']);
    clock += 3_600_000;
    expect(await sync.sync(entry(crm.source))).toMatchObject({ full: true, written: 1, removed: 1 });
    expect(await ids('+41215522002')).toEqual([]);
  });

  it('keeps the last good contacts when the source fails, and records the error and its time', async () => {
    const crm = arraySource([contact('1', '021 552 20 01', 1_000_000)]);
    const sync = engine();
    await sync.sync(entry(crm.source));
    const good = await store.contacts.syncState('crm');
    crm.fail(new Error('ECONNREFUSED'));
    clock += 60_000;
    const report = await sync.sync(entry(crm.source), { full: true });
    expect(report.error).toBe('ECONNREFUSED');
    expect(await ids('+41215522001')).toEqual(['1']);
    const state = await store.contacts.syncState('crm');
    expect(state).toMatchObject({
      error: 'ECONNREFUSED',
      attemptedAt: clock,
      succeededAt: good?.succeededAt,
    });
    crm.fail(undefined);
    expect((await sync.sync(entry(crm.source))).error).toBeUndefined();
    expect((await store.contacts.syncState('crm'))?.error).toBeUndefined();
  });

  /** A source with its own place in the changes (a delta link): no change times at all. */
  function deltaSource(rows: RawContact[]) {
    const calls: (number | undefined)[] = [];
    let lost = false;
    const source: Source = {
      type: 'test',
      name: 'crm',
      tracksChanges: true,
      async *list({ since }: ListOptions) {
        calls.push(since);
        if (since !== undefined && lost) {
          lost = false;
          yield [contact('9', '021 552 20 09', 0)];
          throw new FullListingNeeded('the delta state is gone');
        }
        yield since === undefined ? rows.filter((row) => !row.deleted) : rows.filter((row) => row.deleted);
      },
    };
    return { source, calls, lose: () => (lost = true) };
  }

  it('a source that tracks its own changes syncs incrementally without change times', async () => {
    const rows = [{ ...contact('1', '021 552 20 01', 0), updatedAt: undefined } as RawContact];
    const { source, calls } = deltaSource(rows);
    const sync = engine();
    expect(await sync.sync(entry(source))).toMatchObject({ full: true });
    clock += 120_000;
    rows.push({ id: '1', phones: [], customData: {}, deleted: true });
    expect(await sync.sync(entry(source))).toMatchObject({ full: false, removed: 1 });
    expect(calls).toHaveLength(2);
    expect(calls[1]).toBeTypeOf('number');
    expect(await ids('+41215522001')).toEqual([]);
  });

  it('a source that cannot give the changes is listed in full at once, and what it gave first is dropped', async () => {
    const rows = [contact('1', '021 552 20 01', 1_000), contact('2', '021 552 20 02', 1_000)];
    const { source, calls, lose } = deltaSource(rows);
    const sync = engine();
    await sync.sync(entry(source));
    clock += 120_000;
    rows.splice(1, 1);
    lose();
    const report = await sync.sync(entry(source));
    expect(report.error).toBeUndefined();
    expect(report).toMatchObject({ full: true, written: 1 });
    expect(calls.map((since) => since === undefined)).toEqual([true, false, true]);
    expect(await ids('+41215522002')).toEqual([]);
    expect(await ids('+41215522009')).toEqual([]);
    expect(await ids('+41215522001')).toEqual(['1']);
  });

  it('skips a source whose fingerprint has not changed', async () => {
    const crm = arraySource([contact('1', '021 552 20 01', 1_000_000)]);
    crm.setVersion('v1');
    const sync = engine();
    await sync.sync(entry(crm.source));
    expect(await sync.sync(entry(crm.source))).toMatchObject({ unchanged: true });
    expect(crm.calls).toHaveLength(1);
    crm.setVersion('v2');
    expect((await sync.sync(entry(crm.source))).unchanged).toBeUndefined();
    expect(crm.calls).toHaveLength(2);
  });

  it('runs one sync at a time', async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    // Three sources: syncs of one source asked together are one run (below), those of several queue.
    const source = (name: string): Source => ({
      type: 'test',
      name,
      async *list() {
        running++;
        runs++;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 20));
        running--;
        yield [contact('1', '021 552 20 01', 1)];
      },
    });
    const sync = engine();
    await Promise.all(['a', 'b', 'c'].map((name) => sync.sync(entry(source(name)))));
    expect(runs).toBe(3);
    expect(most).toBe(1);
  });

  it('a source has at most one sync waiting: syncs asked during a long one are one run', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      let calls = 0;
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let firstStarted = () => {};
      const first = new Promise<void>((resolve) => {
        firstStarted = resolve;
      });
      let secondStarted = () => {};
      const second = new Promise<void>((resolve) => {
        secondStarted = resolve;
      });
      const source: Source = {
        type: 'test',
        name: 'crm',
        async *list() {
          calls++;
          if (calls === 1) {
            firstStarted();
            await gate;
          } else secondStarted();
          yield [contact('1', '021 552 20 01', calls)];
        },
      };
      const sync = engine();
      // A listing that takes twelve intervals.
      sync.start([{ source, intervalMs: 1000, fullIntervalMs: 3_600_000 }]);
      await first;
      vi.advanceTimersByTime(12_000);
      release();
      await second;
      await sync.stop();
      expect(calls).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a full sync asked while one waits makes that one full', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const crm = arraySource([contact('1', '021 552 20 01', 1_000_000)]);
    const list = crm.source.list!;
    let started = () => {};
    const listing = new Promise<void>((resolve) => {
      started = resolve;
    });
    let first = true;
    crm.source.list = async function* (options) {
      if (first) {
        first = false;
        started();
        await gate;
      }
      yield* list.call(crm.source, options);
    };
    const sync = engine();
    const running = sync.sync(entry(crm.source));
    await listing;
    const waiting = sync.sync(entry(crm.source));
    const full = sync.sync(entry(crm.source), { full: true });
    expect(full).toBe(waiting);
    release();
    await running;
    expect(await full).toMatchObject({ full: true });
    expect(crm.calls).toEqual([undefined, undefined]);
  });

  it('stop cuts off a sync in progress; the index keeps what it had', async () => {
    let resolveStarted = () => {};
    const started = new Promise<void>((resolve) => {
      resolveStarted = resolve;
    });
    const source: Source = {
      type: 'test',
      name: 'crm',
      async *list({ signal }) {
        yield [contact('1', '021 552 20 01', 1)];
        resolveStarted();
        await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      },
    };
    const sync = engine();
    const running = sync.sync(entry(source));
    await started;
    await sync.stop();
    expect((await running).error).toMatch(/shutting down/);
    expect(await store.contacts.count('crm')).toBe(0);
  });
});
