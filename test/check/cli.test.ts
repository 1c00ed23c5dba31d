import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { type TestService, TOKEN } from '../support/helper.js';
import { startCallcard } from './callcard-service.js';
import { FAKE_TOKEN, type FakeService, startFake } from './fake-service.js';

/** Runs the command line in this process, with only PATH and `env` in its environment. */
function callcard(args: string[], env: Record<string, string> = {}) {
  return runCli(args, { env });
}

describe('callcard check and simulate, end to end', () => {
  let service: TestService;
  let url: string;
  let fake: FakeService | undefined;

  beforeAll(async () => {
    ({ service, url } = await startCallcard());
  });
  afterAll(() => service.close());
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  it('check: exit 0 against callcard, every point passed, the token read from the environment and never shown', async () => {
    const result = await callcard(
      [
        'check',
        url,
        '--header-env',
        'X-Execution-Token=LOOKUP_TOKEN',
        '--number',
        '+41 21 552 20 00',
        '--workflow',
        'CallFlow',
        '--samples',
        '5',
      ],
      { LOOKUP_TOKEN: TOKEN },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`callcard check ${url} (headers X-Execution-Token; number 41215522000`);
    expect(result.stdout).toMatch(/^PASS {2}lookup\.miss +Unknown number answers 200 \[\]/m);
    expect(result.stdout).toMatch(/19 points: 19 passed, 0 failed, 0 warnings, 0 skipped/);
    expect(result.stdout + result.stderr).not.toContain(TOKEN);
  });

  it('check: exit 1 against a broken service, with JSON results and the token hidden', async () => {
    fake = await startFake({ noAuth: true, notFoundOnMiss: true, badJson500: true, echoToken: true });
    const result = await callcard([
      'check',
      `${fake.url}/`,
      '-H',
      `X-Execution-Token: ${FAKE_TOKEN}`,
      '--number',
      '41215522000',
      '--samples',
      '3',
      '--json',
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout + result.stderr).not.toContain(FAKE_TOKEN);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ url: fake.url, headers: ['X-Execution-Token'], ok: false });
    const failed = report.results
      .filter((r: { status: string }) => r.status === 'fail')
      .map((r: { id: string }) => r.id);
    expect(failed).toEqual(['auth.missing', 'auth.wrong', 'lookup.miss', 'errors.invalid-json']);
    // The token did reach the service.
    expect(fake.received.some((r) => r.headers['x-execution-token'] === FAKE_TOKEN)).toBe(true);
  });

  it('check: --strict turns warnings into exit 1', async () => {
    fake = await startFake({ noLegacy: true });
    const args = ['check', fake.url, '-H', `X-Execution-Token: ${FAKE_TOKEN}`, '--samples', '2'];
    const lenient = await callcard(args);
    expect(lenient.code).toBe(0);
    expect(lenient.stdout).toMatch(/^WARN {2}lookup\.legacy/m);
    expect(lenient.stdout).toMatch(/^ +→ Older CONNECTOR versions sent the number as \?PhoneNumber=/m);
    expect((await callcard([...args, '--strict'])).code).toBe(1);
  });

  it.each([
    [['check', 'not a url'], /is not a URL/],
    [['check', 'ftp://example.com'], /must start with https:\/\//],
    [
      ['check', 'https://example.com/services/Lookup'],
      /without \/Lookup \(https:\/\/example\.com\/services\)/,
    ],
    [['check', 'https://example.com', '--header', 'X-Execution-Token'], /write it as 'Name: value'/],
    [
      ['check', 'https://example.com', '--header-env', 'X-Execution-Token=UNSET_VARIABLE'],
      /UNSET_VARIABLE is not set/,
    ],
    [['check', 'https://example.com', '--samples', '0'], /at least 1/],
    [['simulate', 'https://example.com', '--from', '41215522000'], /--to/],
  ])('usage error %j: exit 2', async (args, message) => {
    const result = await callcard(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('simulate: prints the contact found and the CallFlow answer, and the call is recorded', async () => {
    const result = await callcard(
      [
        'simulate',
        url,
        '--header-env',
        'X-Execution-Token=LOOKUP_TOKEN',
        '--from',
        '41215522000',
        '--to',
        '41445550100',
        '--user',
        'u7',
        '--talk-seconds',
        '42',
      ],
      { LOOKUP_TOKEN: TOKEN },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Incoming call from 41215522000 to 41445550100');
    expect(result.stdout).toMatch(/Lookup 41215522000: 200 in .*, 1 contact\(s\)/);
    expect(result.stdout).toContain('1. Alexa Holiday, White Cross Co (id c1, callcard)');
    expect(result.stdout).toContain('email: alexa@example.com');
    const id = /^ {2}id: {2}(\S+)$/m.exec(result.stdout)?.[1];
    expect(result.stdout).toContain(`url: ${url}/calls/${id}`);
    const record = await service.store.calls.get(id!);
    expect(record).toMatchObject({
      direction: 'incoming',
      status: 'answered',
      durationSeconds: 42,
      contactCrmId: 'c1',
      userCrmId: 'u7',
      originatorName: 'Alexa Holiday',
    });
    expect(result.stdout).not.toContain(TOKEN);
  });

  it('simulate: exit 1 when the workflow answer is not JSON, showing what came back', async () => {
    fake = await startFake({ workflowNotJson: true });
    const result = await callcard([
      'simulate',
      fake.url,
      '-H',
      `X-Execution-Token: ${FAKE_TOKEN}`,
      '--from',
      '41791234567',
      '--to',
      '41215522000',
      '--direction',
      'outgoing',
      '--talk-seconds',
      '0',
    ]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('Lookup 41215522000: 200');
    expect(result.stdout).toContain('body: OK');
    expect(result.stdout).toMatch(/FAIL {2}the answer is not JSON/);
    const posted = fake.received.find((r) => r.path === '/CallFlow');
    const inputs = JSON.parse(posted!.body).inputs;
    expect(inputs).toMatchObject({
      direction: 'outgoing',
      answeredTime: '',
      destinationName: 'Alexa Holiday',
    });
    expect(inputs.declinedTime).not.toBe('');
  });
});
