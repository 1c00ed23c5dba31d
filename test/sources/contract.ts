import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LookupQuery, Source } from '../../src/sources/types.js';
import type { ContactRecord } from '../../src/store/types.js';

/** What a source's test provides: the source, fed with the given contacts. */
export interface ContractSetup {
  source: Source;
  /** Releases what the setup made (the source itself is closed by the suite). */
  teardown?(): Promise<void>;
}

export type MakeSource = (contacts: readonly ContactRecord[]) => Promise<ContractSetup>;

const phone = (key: string, raw = key) => ({ key, raw });

/** Contacts every source is fed with, in the source's own form. */
export const CONTRACT_CONTACTS: readonly ContactRecord[] = [
  {
    id: 'a1',
    name: 'Alexa Holiday',
    company: 'White Cross Co',
    phones: [phone('+41215522000', '021 552 20 00')],
  },
  { id: 'a2', name: 'Bruno Keller', phones: [phone('+41791234567'), phone('+41215522000')] },
  { id: 'a3', name: 'Claire Dubois', phones: [phone('+33215522000', '+33 2 15 52 20 00')] },
  { id: 'a4', name: 'Desk 2001', phones: [phone('#2001', '2001')] },
];

const query = (key: string, limit = 5): LookupQuery => ({
  key,
  input: key.replace(/^[+#]/, ''),
  region: 'CH',
  limit,
});
const never = () => new AbortController().signal;

/**
 * The cases every source passes, whatever it reads: run it from the source's own test file,
 * then add the source's own cases there.
 */
export function sourceContract(name: string, make: MakeSource): void {
  describe(`source contract: ${name}`, () => {
    let setup: ContractSetup;
    beforeEach(async () => {
      setup = await make(CONTRACT_CONTACTS);
    });
    afterEach(async () => {
      await setup.source.close?.();
      await setup.teardown?.();
    });

    it('finds a contact by its exact key', async () => {
      const found = await setup.source.lookup(query('+41791234567'), { signal: never() });
      expect(found.map((c) => c.id)).toEqual(['a2']);
      expect(found[0]).toMatchObject({ name: 'Bruno Keller', primary: true });
    });

    it('returns an empty list on a miss', async () => {
      expect(await setup.source.lookup(query('+41440000000'), { signal: never() })).toEqual([]);
    });

    it('returns every contact with the number, the one whose main number it is marked primary', async () => {
      const found = await setup.source.lookup(query('+41215522000'), { signal: never() });
      expect(found.map((c) => [c.id, c.primary]).sort()).toEqual([
        ['a1', true],
        ['a2', false],
      ]);
      expect(found.find((c) => c.id === 'a1')).toMatchObject({ company: 'White Cross Co' });
    });

    it('never matches the same digits in another country, nor a suffix', async () => {
      const found = await setup.source.lookup(query('+33215522000'), { signal: never() });
      expect(found.map((c) => c.id)).toEqual(['a3']);
      expect(await setup.source.lookup(query('+4121552200'), { signal: never() })).toEqual([]);
      expect(await setup.source.lookup(query('#2000'), { signal: never() })).toEqual([]);
    });

    it('matches a short internal number only exactly', async () => {
      const found = await setup.source.lookup(query('#2001'), { signal: never() });
      expect(found.map((c) => c.id)).toEqual(['a4']);
    });

    it('respects the limit', async () => {
      expect(await setup.source.lookup(query('+41215522000', 1), { signal: never() })).toHaveLength(1);
    });

    it('settles when its signal is already aborted', async () => {
      const controller = new AbortController();
      controller.abort(new Error('cut off'));
      const settled = await Promise.race([
        setup.source.lookup(query('+41791234567'), { signal: controller.signal }).then(
          () => 'settled',
          () => 'settled',
        ),
        new Promise((resolve) => setTimeout(() => resolve('hung'), 5_000)),
      ]);
      expect(settled).toBe('settled');
    });

    it('can be closed more than once', async () => {
      await setup.source.close?.();
      await expect(setup.source.close?.() ?? Promise.resolve()).resolves.toBeUndefined();
    });
  });
}
