import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Finder } from '../../src/lookup/live.js';
import { type ConfiguredSource, createLookup } from '../../src/lookup/lookup.js';
import type { ContactMatch } from '../../src/store/types.js';

type Search = (...args: Parameters<Finder>) => Promise<ContactMatch[]>;

const logger = pino({ level: 'silent' });

function source(name: string, search: Search): ConfiguredSource {
  return {
    name,
    mode: 'live',
    find: async (query, options) => ({ matches: await search(query, options) }),
    crmName: `CRM ${name}`,
    timeoutMs: 1000,
    workflows: ['CallFlow'],
  };
}

const answering =
  (...matches: ContactMatch[]): Search =>
  async () =>
    matches;

const contact = (id: string, extra: Partial<ContactMatch> = {}): ContactMatch => ({
  id,
  name: `Name ${id}`,
  primary: true,
  ...extra,
});

const make = (sources: ConfiguredSource[], deadlineMs = 200, maxResults = 5) =>
  createLookup({ sources, region: 'CH', maxResults, deadlineMs, logger });

describe('lookup core', () => {
  it('asks every source with the canonical key of the incoming number', async () => {
    const keys: string[] = [];
    const lookup = make([
      source('a', async (query) => {
        keys.push(query.key);
        return [];
      }),
    ]);
    await lookup('41215522000');
    await lookup('0215522000');
    await lookup('+41 21 552 20 00');
    expect(keys).toEqual(['+41215522000', '+41215522000', '+41215522000']);
  });

  it('does not ask any source for a withheld or empty number', async () => {
    let asked = 0;
    const lookup = make([
      source('a', async () => {
        asked++;
        return [];
      }),
    ]);
    expect((await lookup('anonymous')).hits).toEqual([]);
    expect((await lookup('')).hits).toEqual([]);
    expect(asked).toBe(0);
  });

  it('answers with the healthy sources when one never answers, and cuts it off with its signal', async () => {
    let aborted: unknown;
    const hanging = source('slow', (_query, { signal }) => {
      signal.addEventListener('abort', () => {
        aborted = signal.reason;
      });
      return new Promise(() => {});
    });
    const lookup = make([hanging, source('fast', answering(contact('f1')))], 100);
    const result = await lookup('41215522000');
    expect(result.hits.map((h) => h.match.id)).toEqual(['f1']);
    expect(result.outcomes.map((o) => [o.source, o.status])).toEqual([
      ['slow', 'timeout'],
      ['fast', 'ok'],
    ]);
    expect(aborted).toBeInstanceOf(Error);
  });

  it('cuts a source off at its own timeout before the deadline', async () => {
    const slow = { ...source('slow', () => new Promise(() => {})), timeoutMs: 20 };
    const result = await make([slow], 10_000)('41215522000');
    expect(result.outcomes[0]).toMatchObject({ source: 'slow', status: 'timeout' });
  });

  it('answers with the others when a source fails, whether it rejects or throws', async () => {
    const lookup = make([
      source('rejects', async () => {
        throw new Error('connection refused');
      }),
      source('throws', () => {
        throw new TypeError('bug');
      }),
      source('ok', answering(contact('k1'))),
    ]);
    const result = await lookup('41215522000');
    expect(result.hits.map((h) => h.match.id)).toEqual(['k1']);
    expect(result.outcomes.map((o) => o.status)).toEqual(['error', 'error', 'ok']);
    expect(result.outcomes[0]?.error).toBe('connection refused');
  });

  it('answers [] when every source fails', async () => {
    const result = await make([source('x', () => Promise.reject(new Error('down')))])('41215522000');
    expect(result.hits).toEqual([]);
  });

  it('ranks main-number matches first, then by source order, then most recently active', async () => {
    const lookup = make([
      source(
        'first',
        answering(contact('s1-old', { updatedAt: 1 }), contact('s1-other', { primary: false })),
      ),
      source('second', answering(contact('s2-new', { updatedAt: 5 }), contact('s2-newer', { updatedAt: 9 }))),
    ]);
    const result = await lookup('41215522000');
    expect(result.hits.map((h) => h.match.id)).toEqual(['s1-old', 's2-newer', 's2-new', 's1-other']);
  });

  it('drops duplicates of the same record, keeps same ids from different sources apart', async () => {
    const lookup = make([
      source('a', answering(contact('1'), contact('1'))),
      source('b', answering(contact('1'))),
    ]);
    const result = await lookup('41215522000');
    expect(result.hits.map((h) => [h.from.crmName, h.match.id])).toEqual([
      ['CRM a', '1'],
      ['CRM b', '1'],
    ]);
  });

  it('caps the answer at maxResults', async () => {
    const many = Array.from({ length: 9 }, (_, i) => contact(`m${i}`));
    const result = await make([source('a', answering(...many))], 200, 3)('41215522000');
    expect(result.hits).toHaveLength(3);
  });
});
