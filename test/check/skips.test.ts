import { afterEach, describe, expect, it } from 'vitest';
import { type CheckOptions, runChecks } from '../../src/check/checks.js';
import { type Breakage, FAKE_HIT, FAKE_TOKEN, type FakeService, startFake } from './fake-service.js';

// What a skipped point says, and what one point hands to the next, against the fake service.

const FIX_REACHABLE = 'Fix service.reachable first.';

describe('callcard check: why a point is skipped, and what points pass on', () => {
  let fake: FakeService | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  async function check(breakage: Breakage, options: Partial<CheckOptions> = {}) {
    fake = await startFake(breakage);
    const results = await runChecks({
      url: fake.url,
      headers: { 'X-Execution-Token': FAKE_TOKEN },
      number: FAKE_HIT,
      workflow: 'CallFlow',
      samples: 2,
      timeoutMs: 2000,
      ...options,
    });
    return Object.fromEntries(
      results.filter((r) => r.status === 'skip').map((r) => [r.id, [r.detail, r.advice]]),
    ) as Record<string, [string, string | undefined]>;
  }

  it('without --number: the hit and its cards, each with its own advice', async () => {
    expect(await check({}, { number: undefined })).toEqual({
      'lookup.hit': ['no --number given', 'Pass --number with a number that has a contact (41215522000).'],
      'lookup.fields': [
        'no --number given',
        'Pass --number with a number that has a contact, so its card can be checked.',
      ],
      'lookup.count': ['no --number given', 'Pass --number with a number that has a contact.'],
    });
  });

  it('with a --number that has no contact: the cards, pointing at lookup.hit', async () => {
    expect(await check({}, { number: '41000000000' })).toEqual({
      'lookup.fields': [
        'no contact found (see lookup.hit)',
        'Pass --number with a number that has a contact, so its card can be checked.',
      ],
      'lookup.count': [
        'no contact found (see lookup.hit)',
        'Pass --number with a number that has a contact.',
      ],
    });
  });

  it('without --header or --workflow: the wrong-token point and the workflow points', async () => {
    const skipped = await check({ noAuth: true }, { headers: {}, workflow: undefined });
    expect(skipped['auth.wrong']).toEqual([
      'no --header given',
      "Pass the token header: --header 'X-Execution-Token: ...'.",
    ]);
    for (const id of ['auth.workflow', 'workflow.answer', 'workflow.repeat', 'workflow.extended']) {
      expect(skipped[id], id).toEqual(['no --workflow given', expect.stringMatching(/^Pass --workflow/)]);
    }
  });

  it('headers refused: the token points still run, the rest say why they do not', async () => {
    const skipped = await check({}, { headers: { 'X-Execution-Token': 'wrong-value-123' } });
    expect(Object.keys(skipped)).not.toContain('auth.missing');
    expect(Object.keys(skipped)).not.toContain('auth.wrong');
    expect(Object.keys(skipped)).not.toContain('auth.workflow');
    expect(Object.keys(skipped)).toHaveLength(14);
    for (const reason of Object.values(skipped)) {
      expect(reason).toEqual(['the service refused the given headers (401)', FIX_REACHABLE]);
    }
  });

  it.each([
    ['a redirect', { redirect: true }, 'the service redirects'],
    ['a 429', { rateLimited: true }, 'the service limits requests (429)'],
  ] as const)('after %s, even the token points are skipped', async (_name, breakage, reason) => {
    const skipped = await check(breakage);
    expect(Object.keys(skipped)).toHaveLength(17);
    expect(skipped['auth.missing']).toEqual([reason, FIX_REACHABLE]);
    expect(skipped['latency']).toEqual([reason, FIX_REACHABLE]);
  });

  it('a workflow answer without an id: only the repeat is skipped', async () => {
    expect(await check({ workflowNotJson: true })).toEqual({
      'workflow.repeat': ['the first post gave no id (see workflow.answer)', 'Fix workflow.answer first.'],
    });
  });

  it('the test call carries the contact lookup.hit found, and the repeat posts the same call', async () => {
    await check({});
    const posts = fake!.received.filter((r) => r.path === '/CallFlow');
    // auth.workflow (no token), workflow.answer, workflow.repeat, workflow.extended, two bad bodies.
    expect(posts).toHaveLength(6);
    const [unauthenticated, first, again, extended] = posts.map((r) => {
      try {
        return JSON.parse(r.body).inputs;
      } catch {
        return undefined;
      }
    });
    expect(posts[0]!.headers['x-execution-token']).toBeUndefined();
    expect(unauthenticated).toMatchObject({ originatorNumber: '41215550199', contactCrmId: '' });
    expect(first).toMatchObject({
      originatorNumber: FAKE_HIT,
      originatorName: 'Alexa Holiday',
      contactCrmId: 'c1',
    });
    expect(again).toEqual(first);
    expect(extended).toMatchObject({ ...first, callId: 'callcard-check-1' });
  });

  it('the latency point times the number with a contact when there is one, else the unknown one', async () => {
    const lookedUp = () =>
      fake!.received
        .filter((r) => r.path === '/Lookup' && r.body !== '')
        .slice(-2)
        .map((r) => JSON.parse(r.body).inputs.phoneNumber);
    await check({});
    expect(lookedUp()).toEqual([FAKE_HIT, FAKE_HIT]);
    await fake!.close();
    await check({}, { number: '41000000000' });
    expect(lookedUp()).toEqual(['41215550199', '41215550199']);
  });
});
