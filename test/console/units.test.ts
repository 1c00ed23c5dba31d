import { describe, expect, it } from 'vitest';
import { chooseLang, translator } from '../../src/console/i18n.js';
import { de } from '../../src/console/messages/de.js';
import { en } from '../../src/console/messages/en.js';
import { fr } from '../../src/console/messages/fr.js';
import { hashPassword, UNKNOWN_ACCOUNT_HASH, verifyPassword } from '../../src/console/password.js';
import type { LookupResult } from '../../src/lookup/lookup.js';
import { createLookupActivity } from '../../src/metrics/activity.js';

const MINUTE = 60_000;
const hit = { key: '+41215522000', hits: [{}], outcomes: [] } as unknown as LookupResult;
const miss: LookupResult = { key: '+41215522001', hits: [], outcomes: [] };
const failed = {
  key: '+41215522002',
  hits: [],
  outcomes: [{ source: 'crm', mode: 'live', status: 'timeout', found: 0, ms: 1000 }],
} as unknown as LookupResult;
const withheld: LookupResult = { hits: [], outcomes: [] };

describe('recent lookups', () => {
  it('counts per minute, within the period asked, and forgets what is older than an hour', () => {
    const activity = createLookupActivity();
    const t0 = 100 * 60 * MINUTE;
    activity.recordLookup(hit, t0);
    activity.recordLookup(miss, t0 + 10_000);
    activity.recordLookup(failed, t0 + 5 * MINUTE);
    activity.recordLookup(withheld, t0 + 20 * MINUTE);
    const now = t0 + 20 * MINUTE + 1000;
    // The last 15 minutes hold the withheld number only (not a miss); 16 reach the timeout.
    expect(activity.summary(15, now)).toEqual({
      lookups: 1,
      hits: 0,
      misses: 0,
      errors: 0,
      lastAt: t0 + 20 * MINUTE,
    });
    expect(activity.summary(16, now)).toMatchObject({ lookups: 2, misses: 1, errors: 1 });
    expect(activity.summary(60, now)).toEqual({
      lookups: 4,
      hits: 1,
      misses: 2,
      errors: 1,
      lastAt: t0 + 20 * MINUTE,
    });
    // An hour later the first minutes are gone, though their ring slots were not written again.
    expect(activity.summary(60, t0 + 61 * MINUTE)).toMatchObject({ lookups: 2 });
    expect(activity.summary(60, t0 + 81 * MINUTE)).toMatchObject({ lookups: 0 });
    // A minute's slot reused an hour later starts from zero.
    activity.recordLookup(hit, t0 + 60 * MINUTE);
    expect(activity.summary(1, t0 + 60 * MINUTE)).toMatchObject({ lookups: 1, hits: 1, misses: 0 });
  });
});

describe('console languages', () => {
  it("follows the browser's preferences by weight, a choice made in the console first", () => {
    expect(chooseLang(undefined, 'de-CH,de;q=0.9,en;q=0.8')).toBe('de');
    expect(chooseLang(undefined, 'it-CH, fr;q=0.7, en;q=0.9')).toBe('en');
    expect(chooseLang(undefined, 'it, es')).toBe('en');
    expect(chooseLang(undefined, 'fr;q=0, de;q=0.1')).toBe('de');
    expect(chooseLang(undefined, undefined)).toBe('en');
    expect(chooseLang('fr', 'de')).toBe('fr');
    expect(chooseLang('xx', 'de')).toBe('de');
  });

  it('has every message in every language, with the same values put in', () => {
    const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const catalogue of [de, fr]) {
      expect(Object.keys(catalogue).sort()).toEqual(Object.keys(en).sort());
      for (const key of Object.keys(en) as (keyof typeof en)[]) {
        expect(placeholders(catalogue[key]), key).toEqual(placeholders(en[key]));
      }
    }
    expect(translator('de')('nav.signedInAs', { name: 'alice', role: 'Admin' })).toBe(
      'Angemeldet als alice (Admin)',
    );
  });
});

describe('console passwords', () => {
  it('verifies what it hashed, keeps the parameters, and refuses malformed hashes', async () => {
    const hash = await hashPassword('correct horse battery');
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(await verifyPassword('correct horse battery', hash)).toBe(true);
    expect(await verifyPassword('correct horse batterY', hash)).toBe(false);
    expect(await hashPassword('correct horse battery')).not.toBe(hash); // a new salt each time
    expect(await verifyPassword('', UNKNOWN_ACCOUNT_HASH)).toBe(false);
    for (const bad of [
      '',
      'scrypt',
      'bcrypt$1$2$3$a$b',
      'scrypt$0$8$1$AAAA$AAAA',
      hash.replace('$8$', '$x$'),
    ]) {
      expect(await verifyPassword('correct horse battery', bad)).toBe(false);
    }
  });
});
