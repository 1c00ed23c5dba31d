import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RawContact } from '../../src/contacts/raw-contact.js';
import { numberForms } from '../../src/lookup/forms.js';
import { createIndexFinder } from '../../src/lookup/index-finder.js';
import { createLiveFinder, type Finder } from '../../src/lookup/live.js';
import type { SearchQuery, Source } from '../../src/sources/types.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/types.js';
import { createSyncEngine } from '../../src/sync/engine.js';
import { settled, tempDir } from '../support/helper.js';

/** What a source's test provides: the source, holding the given contacts in its own backend. */
export interface ContractSetup {
  readonly source: Source;
  /** How the core reads it. `embedded` contacts must already be in `store` under the source's name. */
  readonly mode: 'embedded' | 'mirror' | 'live';
  /** Makes the backend unreachable (server stopped, file removed...), when the source has one. */
  down?(): Promise<void>;
  /** Releases what the setup made (the source itself is closed by the suite). */
  teardown?(): Promise<void>;
}

export type MakeSource = (contacts: readonly RawContact[], store: Store) => Promise<ContractSetup>;

const contact = (id: string, name: string, ...phones: string[]): RawContact => ({
  id,
  name,
  phones: phones.map((value) => ({ value })),
  customData: {},
});

/** Contacts every source holds for the suite, as people type them; each test file stores them its own way. */
export const CONTRACT_CONTACTS: readonly RawContact[] = [
  { ...contact('a1', 'Alexa Holiday', '021 552 20 00'), company: 'White Cross Co' },
  contact('a2', 'Bruno Keller', '+41 79 123 45 67', '+41 (0)21 552 20 00'),
  contact('a3', 'Claire Dubois', '+33 2 15 52 20 00'),
  contact('a4', 'Desk 2001', '2001'),
];

const never = () => new AbortController().signal;
const query = (key: string, limit = 5): SearchQuery => ({
  key,
  forms: numberForms(key),
  region: 'CH',
  limit,
});

/**
 * The cases every source passes, read the way the core reads it (synced into the index, or asked
 * live through the cache and re-check). Run it from the source's test file, then add its own cases.
 */
export function sourceContract(name: string, make: MakeSource): void {
  describe(`source contract: ${name}`, () => {
    let dir: ReturnType<typeof tempDir>;
    let store: Store;
    let setup: ContractSetup;
    let find: Finder;
    const engine = () =>
      createSyncEngine({
        store: store.contacts,
        region: 'CH',
        logger: pino({ level: 'silent' }),
        workers: 0,
      });
    const mirror = () => ({ source: setup.source, intervalMs: 60_000, fullIntervalMs: 60_000 });

    beforeEach(async () => {
      dir = tempDir();
      store = openSqliteStore(dir.path);
      setup = await make(CONTRACT_CONTACTS, store);
      if (setup.mode === 'live') {
        find = createLiveFinder(setup.source, 'CH', { ttlMs: 0, missTtlMs: 0, maxEntries: 10 });
      } else {
        if (setup.mode === 'mirror') {
          const report = await engine().sync(mirror());
          expect(report.error).toBeUndefined();
        }
        find = createIndexFinder(store.contacts, setup.source.name);
      }
    });
    afterEach(async () => {
      await setup.source.close?.();
      await setup.teardown?.();
      await store.close();
      dir.remove();
    });

    const ids = async (key: string, limit?: number) =>
      (await find(query(key, limit), { signal: never() })).matches.map((m) => m.id).sort();

    it('finds a contact by its exact number', async () => {
      const { matches } = await find(query('+41791234567'), { signal: never() });
      expect(matches).toEqual([expect.objectContaining({ id: 'a2', name: 'Bruno Keller', primary: true })]);
    });

    it('returns nothing on a miss', async () => {
      expect(await ids('+41440000000')).toEqual([]);
    });

    it('returns every contact with the number; the one whose main number it is is marked primary', async () => {
      const { matches } = await find(query('+41215522000'), { signal: never() });
      expect(matches.map((m) => [m.id, m.primary]).sort()).toEqual([
        ['a1', true],
        ['a2', false],
      ]);
      expect(matches.find((m) => m.id === 'a1')).toMatchObject({ company: 'White Cross Co' });
    });

    it('never answers the same digits in another country, nor a suffix or prefix', async () => {
      expect(await ids('+33215522000')).toEqual(['a3']);
      expect(await ids('+4121552200')).toEqual([]);
      expect(await ids('+412155220001')).toEqual([]);
    });

    it('matches a short internal number only exactly', async () => {
      expect(await ids('#2001')).toEqual(['a4']);
      expect(await ids('#200')).toEqual([]);
    });

    it('respects the limit', async () => {
      expect(await ids('+41215522000', 1)).toHaveLength(1);
    });

    it('ends with the reason when its call is cancelled', async () => {
      const controller = new AbortController();
      controller.abort(new Error('cut off'));
      const call =
        setup.mode === 'live'
          ? setup.source.search!(query('+41791234567'), { signal: controller.signal })
          : setup.mode === 'mirror'
            ? (async () => {
                for await (const _ of setup.source.list!({ signal: controller.signal })) {
                  // a cancelled listing may still give what it had
                }
              })()
            : find(query('+41791234567'), { signal: controller.signal });
      // Cancelled before it began: it ends with the caller's reason, not with an answer.
      const outcome = await settled(Promise.resolve(call), 'the cancelled call');
      expect(outcome.error).toBe(controller.signal.reason);
    });

    it('when its backend is down: a lookup fails (the core answers without it), a mirror keeps its last good data', async (context) => {
      if (!setup.down) return context.skip('the source has no backend of its own');
      await setup.down();
      if (setup.mode === 'live') {
        await expect(find(query('+41791234567'), { signal: never() })).rejects.toThrow();
      } else {
        const report = await engine().sync(mirror());
        expect(report.error).toBeTruthy();
        expect(await ids('+41791234567')).toEqual(['a2']);
        expect((await store.contacts.syncState(setup.source.name))?.error).toBeTruthy();
      }
    });

    it('can be closed more than once', async () => {
      await setup.source.close?.();
      await expect(setup.source.close?.() ?? Promise.resolve()).resolves.toBeUndefined();
    });
  });
}

/** What a source's test provides for the listing cases: a source that lists many rows in many batches. */
export interface ListingSetup {
  readonly source: Source;
  /** How many contacts a full listing gives; more than three batches' worth. */
  readonly rows: number;
  /** Cuts the source off its backend, when it has one. */
  down?(): Promise<void>;
  /** Releases what the setup made (the source itself is closed by the test). */
  teardown?(): Promise<void>;
}

/**
 * The cases of a long listing, for a source that lists: cut off half-way by its caller, or by the
 * loss of its backend. Either way the listing ends, with a reason, instead of reading on or waiting
 * for ever. Run it from the source's test file with a backend that holds many rows.
 */
export function listingContract(name: string, make: () => Promise<ListingSetup>): void {
  describe(`listing contract: ${name}`, () => {
    let setup: ListingSetup;
    beforeEach(async () => {
      setup = await make();
    });
    afterEach(async () => {
      await setup.source.close?.();
      await setup.teardown?.();
    });

    it('a listing cut off half-way ends with the reason, gives no batch after it, and the source lists in full again', async () => {
      const controller = new AbortController();
      const reason = new Error('shutting down');
      let batches = 0;
      const listing = (async () => {
        for await (const _ of setup.source.list!({ signal: controller.signal })) {
          if (++batches === 2) controller.abort(reason);
        }
      })();
      const { error } = await settled(listing, 'the listing cut off after two batches');
      expect(error).toBe(reason);
      expect(batches).toBe(2);
      let rows = 0;
      for await (const batch of setup.source.list!({ signal: never() })) rows += batch.length;
      expect(rows).toBe(setup.rows);
    });

    it('a listing whose backend goes away half-way fails, and the source still closes', async (context) => {
      if (!setup.down) return context.skip('the source has no backend of its own');
      let batches = 0;
      const listing = (async () => {
        for await (const _ of setup.source.list!({ signal: never() })) {
          if (++batches === 2) await setup.down!();
        }
      })();
      const { error } = await settled(listing, 'the listing whose backend went away');
      expect(error).toBeInstanceOf(Error);
      expect(
        (await settled(Promise.resolve(setup.source.close?.()), 'closing the source')).error,
      ).toBeUndefined();
    });
  });
}
