import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CHECKS,
  type CheckId,
  type CheckResult,
  type CheckStatus,
  runChecks,
} from '../../src/check/checks.js';
import { AUTH, type TestService, TOKEN } from '../support/helper.js';
import { startCallcard } from './callcard-service.js';
import { type Breakage, FAKE_HIT, FAKE_TOKEN, type FakeService, startFake } from './fake-service.js';

const ALL_IDS = Object.keys(CHECKS) as CheckId[];

function byId(results: readonly CheckResult[]): Record<CheckId, CheckResult> {
  return Object.fromEntries(results.map((result) => [result.id, result])) as Record<CheckId, CheckResult>;
}

function statuses(results: readonly CheckResult[]): Record<string, CheckStatus> {
  return Object.fromEntries(results.map((result) => [result.id, result.status]));
}

describe('callcard check against callcard itself', () => {
  let service: TestService;
  let url: string;

  beforeAll(async () => {
    ({ service, url } = await startCallcard());
  });
  afterAll(() => service.close());

  it('passes every point, with a number and the CallFlow workflow', async () => {
    const results = await runChecks({ url, headers: AUTH, number: '41215522000', workflow: 'CallFlow' });
    expect(results.map((r) => r.id)).toEqual(ALL_IDS);
    const failing = results.filter((r) => r.status !== 'pass');
    expect(failing).toEqual([]);
    for (const id of ALL_IDS) expect(byId(results)[id].status, id).toBe('pass');
    const { latency } = byId(results);
    expect(latency.data).toMatchObject({ samples: 20 });
    for (const key of ['p50', 'p95', 'p99', 'max']) expect(latency.data?.[key]).toBeTypeOf('number');
    expect(JSON.stringify(results)).not.toContain(TOKEN);
  });

  it('skips the hit and workflow points without --number and --workflow, and says how to run them', async () => {
    const results = byId(await runChecks({ url, headers: AUTH, samples: 3 }));
    for (const id of [
      'lookup.hit',
      'lookup.fields',
      'lookup.count',
      'auth.workflow',
      'workflow.answer',
    ] as const) {
      expect(results[id].status, id).toBe('skip');
      expect(results[id].advice, id).toMatch(/--number|--workflow/);
    }
    for (const id of [
      'service.reachable',
      'auth.missing',
      'auth.wrong',
      'lookup.miss',
      'lookup.legacy',
      'latency',
    ] as const) {
      expect(results[id].status, id).toBe('pass');
    }
  });

  it('says the headers are refused, and skips what needs them, when the token is wrong', async () => {
    const results = byId(
      await runChecks({
        url,
        headers: { 'X-Execution-Token': 'not-the-token-at-all' },
        number: '41215522000',
      }),
    );
    expect(results['service.reachable']).toMatchObject({ status: 'fail' });
    expect(results['service.reachable'].advice).toMatch(/--header/);
    expect(results['auth.missing'].status).toBe('pass');
    expect(results['lookup.hit'].status).toBe('skip');
    expect(results.latency.status).toBe('skip');
    expect(JSON.stringify(results)).not.toContain('not-the-token-at-all');
  });
});

describe('callcard check against a broken service', () => {
  let fake: FakeService | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  async function check(breakage: Breakage, extra: { timeoutMs?: number; maxP95Ms?: number } = {}) {
    fake = await startFake(breakage);
    const results = await runChecks({
      url: fake.url,
      headers: { 'X-Execution-Token': FAKE_TOKEN },
      number: FAKE_HIT,
      workflow: 'CallFlow',
      samples: 5,
      timeoutMs: extra.timeoutMs ?? 2000,
      ...(extra.maxP95Ms !== undefined && { maxP95Ms: extra.maxP95Ms }),
    });
    return { results, byId: byId(results), statuses: statuses(results) };
  }

  it('passes every point when nothing is broken (the fake is a correct service)', async () => {
    const { statuses } = await check({});
    expect(statuses).toEqual(Object.fromEntries(ALL_IDS.map((id) => [id, 'pass'])));
  });

  // Each breakage and the points it must fail; every other point still passes.
  const cases: [string, Breakage, Partial<Record<CheckId, CheckStatus>>][] = [
    ['no auth', { noAuth: true }, { 'auth.missing': 'fail', 'auth.wrong': 'fail', 'auth.workflow': 'fail' }],
    ['404 on a miss', { notFoundOnMiss: true }, { 'lookup.miss': 'fail' }],
    ['wrong field types', { wrongTypes: true }, { 'lookup.fields': 'fail' }],
    ['more than 5 results', { tooMany: true }, { 'lookup.count': 'fail' }],
    ['no legacy query form', { noLegacy: true }, { 'lookup.legacy': 'warn' }],
    ['only application/json exactly', { strictContentType: true }, { 'lookup.content-type': 'fail' }],
    [
      '500 on invalid JSON',
      { badJson500: true },
      { 'errors.invalid-json': 'fail', 'workflow.bad-body': 'fail' },
    ],
    [
      '500 on missing or wrong inputs',
      { inputs500: true },
      { 'errors.missing-inputs': 'fail', 'errors.wrong-types': 'fail' },
    ],
    ['workflow answer without url', { workflowNoUrl: true }, { 'workflow.answer': 'warn' }],
    [
      'workflow answer not JSON',
      { workflowNotJson: true },
      { 'workflow.answer': 'fail', 'workflow.repeat': 'skip', 'workflow.extended': 'pass' },
    ],
    ['a new id for the same call', { workflowNewIds: true }, { 'workflow.repeat': 'warn' }],
    ['unknown workflow fields refused', { workflowStrictFields: true }, { 'workflow.extended': 'fail' }],
  ];

  it.each(cases)('%s: fails exactly the matching points', async (_name, breakage, expected) => {
    const { statuses, byId } = await check(breakage);
    const want = Object.fromEntries(ALL_IDS.map((id) => [id, expected[id] ?? 'pass']));
    expect(statuses).toEqual(want);
    for (const id of Object.keys(expected) as CheckId[]) {
      if (expected[id] === 'fail' || expected[id] === 'warn') expect(byId[id].advice, id).toBeTruthy();
    }
  });

  it('advises 200 [] for a 404 on a miss', async () => {
    const { byId } = await check({ notFoundOnMiss: true });
    expect(byId['lookup.miss'].detail).toMatch(/404/);
    expect(byId['lookup.miss'].advice).toMatch(/200 \[\]/);
  });

  it('names each wrongly typed field', async () => {
    const { byId } = await check({ wrongTypes: true });
    const { detail } = byId['lookup.fields'];
    expect(detail).toMatch(/\[0\]\.id is a number/);
    expect(detail).toMatch(/crmActions/);
    expect(byId['lookup.fields'].advice).toMatch(/customData/);
  });

  it('fails a service that hangs on invalid JSON, without hanging itself', async () => {
    const { statuses, byId } = await check({ hangOnBadJson: true }, { timeoutMs: 300 });
    expect(statuses['errors.invalid-json']).toBe('fail');
    expect(byId['errors.invalid-json'].detail).toMatch(/no answer within 300 ms/);
    expect(statuses['errors.missing-inputs']).toBe('pass');
  });

  it('fails latency above --max-p95-ms and reports the percentiles', async () => {
    const { byId } = await check({ slowMs: 30 }, { maxP95Ms: 5 });
    expect(byId.latency.status).toBe('fail');
    expect(byId.latency.data?.['p95']).toBeTypeOf('number');
    expect(byId.latency.detail).toMatch(/p50 .* p95 .* p99 .* max /);
  });

  it('reports a service that never answers once, and skips the rest', async () => {
    const { results, byId } = await check({ hangAlways: true }, { timeoutMs: 200 });
    expect(byId['service.reachable']).toMatchObject({ status: 'fail' });
    expect(byId['service.reachable'].detail).toMatch(/no answer within 200 ms/);
    expect(results.filter((r) => r.status === 'fail').map((r) => r.id)).toEqual(['service.reachable']);
    expect(byId.latency.status).toBe('skip');
  });

  it('says when the service rate-limits the checker, instead of judging its answers', async () => {
    const { results, byId } = await check({ rateLimited: true });
    expect(byId['service.reachable']).toMatchObject({ status: 'fail' });
    expect(byId['service.reachable'].detail).toMatch(/429 \(rate limited, retry after 30 s\)/);
    expect(byId['service.reachable'].advice).toMatch(/Retry-After/);
    expect(results.filter((r) => r.status !== 'skip' && r.id !== 'service.https').map((r) => r.id)).toEqual([
      'service.reachable',
    ]);
  });

  it('reports a redirect instead of following it', async () => {
    const { byId } = await check({ redirect: true });
    expect(byId['service.reachable']).toMatchObject({ status: 'fail' });
    expect(byId['service.reachable'].detail).toContain('redirects (301 to https://lookup.example/Lookup)');
    expect(byId['lookup.hit'].status).toBe('skip');
  });

  it('never shows the token, even when the service echoes it', async () => {
    const { results } = await check({ echoToken: true, inputs500: true });
    expect(JSON.stringify(results)).not.toContain(FAKE_TOKEN);
  });

  it('fails every broken point at once on an all-broken service', async () => {
    const { statuses } = await check(
      {
        noAuth: true,
        notFoundOnMiss: true,
        wrongTypes: true,
        tooMany: true,
        noLegacy: true,
        strictContentType: true,
        badJson500: true,
        inputs500: true,
        workflowNotJson: true,
        slowMs: 20,
      },
      { maxP95Ms: 5 },
    );
    expect(statuses).toMatchObject({
      'auth.missing': 'fail',
      'auth.wrong': 'fail',
      'auth.workflow': 'fail',
      'lookup.fields': 'fail',
      'lookup.count': 'fail',
      'lookup.miss': 'fail',
      'lookup.legacy': 'fail',
      'lookup.content-type': 'fail',
      'errors.invalid-json': 'fail',
      'errors.missing-inputs': 'fail',
      'errors.wrong-types': 'fail',
      'workflow.answer': 'fail',
      latency: 'fail',
    });
  });

  it('reports a connection refused as a failure', async () => {
    fake = await startFake();
    const url = fake.url;
    await fake.close();
    fake = undefined;
    const results = byId(await runChecks({ url, headers: { 'X-Execution-Token': FAKE_TOKEN } }));
    expect(results['service.reachable'].status).toBe('fail');
    expect(results['service.reachable'].detail).toMatch(/ECONNREFUSED/);
  });
});
