import { describe, expect, it } from 'vitest';
import type { RawContact } from '../../src/contacts/raw-contact.js';
import { numberForms } from '../../src/lookup/forms.js';
import { createLiveFinder, recheck } from '../../src/lookup/live.js';
import type { SearchQuery, Source } from '../../src/sources/types.js';

const raw = (id: string, ...phones: string[]): RawContact => ({
  id,
  name: `Name ${id}`,
  phones: phones.map((value) => ({ value })),
  customData: {},
});
const query = (key: string): SearchQuery => ({ key, forms: numberForms(key), region: 'CH', limit: 5 });
const signal = new AbortController().signal;

describe('re-check of live results', () => {
  it('keeps only contacts with a number exactly equal to the key, and says why others were dropped', () => {
    const found = recheck(
      [
        raw('exact', '021 552 20 00'),
        raw('second', '079 123 45 67', '+41 21 552 20 00'),
        raw('suffix', '+33 2 15 52 20 00'),
        raw('longer', '021 552 20 001'),
        { ...raw('', '021 552 20 00') },
      ],
      '+41215522000',
      'CH',
    );
    expect(found.matches.map((m) => [m.id, m.primary])).toEqual([
      ['exact', true],
      ['second', false],
    ]);
    expect(found.dropped?.map((d) => d.id)).toEqual(['suffix', 'longer', '(none)']);
  });

  it("reads a contact's national numbers in its own country", () => {
    const german = { ...raw('de', '089 1234567'), country: 'DE' };
    expect(recheck([german], '+49891234567', 'CH').matches.map((m) => m.id)).toEqual(['de']);
  });
});

describe('live finder cache', () => {
  function counting(answer: (key: string) => RawContact[]) {
    const asked: string[] = [];
    const source: Source = {
      type: 'test',
      name: 'crm',
      async search(q) {
        asked.push(q.key);
        return answer(q.key);
      },
    };
    return { source, asked };
  }

  it('reuses a hit for ttlMs and a miss for the shorter missTtlMs', async () => {
    const { source, asked } = counting((key) => (key === '+41215522000' ? [raw('a', '021 552 20 00')] : []));
    const find = createLiveFinder(source, 'CH', { ttlMs: 5_000, missTtlMs: 50, maxEntries: 100 });
    expect((await find(query('+41215522000'), { signal })).cached).toBeUndefined();
    expect(await find(query('+41215522000'), { signal })).toMatchObject({ cached: true });
    await find(query('+41440000000'), { signal });
    expect(await find(query('+41440000000'), { signal })).toMatchObject({ cached: true });
    expect(asked).toEqual(['+41215522000', '+41440000000']);
    await new Promise((resolve) => setTimeout(resolve, 150));
    // The miss has expired, the hit has not.
    expect((await find(query('+41440000000'), { signal })).cached).toBeUndefined();
    expect(await find(query('+41215522000'), { signal })).toMatchObject({ cached: true });
    expect(asked).toEqual(['+41215522000', '+41440000000', '+41440000000']);
  });

  it('is bounded: the least recently used numbers are forgotten', async () => {
    const { source, asked } = counting(() => []);
    const find = createLiveFinder(source, 'CH', { ttlMs: 60_000, missTtlMs: 60_000, maxEntries: 2 });
    for (const key of ['+41215522001', '+41215522002', '+41215522003', '+41215522001']) {
      await find(query(key), { signal });
    }
    expect(asked).toEqual(['+41215522001', '+41215522002', '+41215522003', '+41215522001']);
  });

  it('does not cache a failure', async () => {
    let calls = 0;
    const source: Source = {
      type: 'test',
      name: 'crm',
      async search() {
        calls++;
        if (calls === 1) throw new Error('down');
        return [];
      },
    };
    const find = createLiveFinder(source, 'CH', { ttlMs: 60_000, missTtlMs: 60_000, maxEntries: 10 });
    await expect(find(query('+41215522000'), { signal })).rejects.toThrow('down');
    await expect(find(query('+41215522000'), { signal })).resolves.toMatchObject({ matches: [] });
    expect(calls).toBe(2);
  });

  it('refuses a source that cannot search', () => {
    expect(() =>
      createLiveFinder({ type: 'x', name: 'x' }, 'CH', { ttlMs: 1, missTtlMs: 1, maxEntries: 1 }),
    ).toThrow(/cannot search/);
  });
});
