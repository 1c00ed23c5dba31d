import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import {
  createPipedriveAction,
  deliveryMark,
  pipedriveActionSchema,
} from '../../src/workflows/actions/pipedrive.js';
import { DeliveryError } from '../../src/workflows/actions/types.js';
import {
  PIPEDRIVE_TOKEN,
  type PipedriveFake,
  startPipedriveFake,
} from '../sources/vendors/pipedrive-fake.js';
import { docExample } from '../support/helper.js';
import { actionContract, PAYLOAD } from './action-contract.js';

// Pipedrive itself is not reachable from the tests: the fake follows its published API reference
// and checks every call log the action sends against the extract in pipedrive.schema.json.

const env = { PIPEDRIVE_API_TOKEN: PIPEDRIVE_TOKEN };

const pipedrive = (base: string, settings: Record<string, unknown> = {}) =>
  createPipedriveAction(
    pipedriveActionSchema.parse({
      type: 'pipedrive',
      baseUrl: base,
      tokenEnv: 'PIPEDRIVE_API_TOKEN',
      source: 'pipedrive',
      ...settings,
    }),
    { baseDir: process.cwd() },
    { env },
  );

const oauth = (base: string) => ({
  tokenEnv: undefined,
  auth: { type: 'oauth2', tokenUrl: `${base}/token`, clientId: 'callcard', clientSecret: 's' },
});

actionContract('pipedrive', async () => {
  const fake = await startPipedriveFake();
  return {
    action: pipedrive(fake.url),
    records: async () => fake.callLogs.length,
    at: (port, timeoutMs) => pipedrive(`http://127.0.0.1:${port}`, timeoutMs ? { timeoutMs } : {}),
    async refused() {
      fake.fail({ status: 403, body: { success: false, error: 'You do not have permissions' } });
      return pipedrive(fake.url);
    },
    async redirect() {
      fake.fail({ status: 302, headers: { location: `${fake.url}/elsewhere` } });
      return pipedrive(fake.url);
    },
    async renewal() {
      const action = pipedrive(fake.url, oauth(fake.url));
      await action.run(PAYLOAD, { signal: new AbortController().signal, deliveryId: 'warm', attempt: 1 });
      const before = fake.tokens();
      fake.revoke();
      return { action, renewals: () => fake.tokens() - before };
    },
    async teardown() {
      expect(fake.violations).toEqual([]);
      await fake.close();
    },
  };
});

describe('pipedrive action', () => {
  let fake: PipedriveFake;
  const never = () => new AbortController().signal;
  beforeEach(async () => {
    fake = await startPipedriveFake();
  });
  afterEach(async () => {
    expect(fake.violations).toEqual([]);
    await fake.close();
  });

  const payload = (contact: unknown, call: Record<string, unknown> = {}) => ({
    ...PAYLOAD,
    call: { ...PAYLOAD.call, ...call },
    contact,
  });

  it('logs the call with its times, outcome and numbers, linked to the person the pipedrive source found', async () => {
    const action = pipedrive(fake.url, { companyDomain: 'acme', userId: 42 });
    const result = await action.run(payload({ id: '17', name: 'Anna Müller', source: 'pipedrive' }), {
      signal: never(),
      deliveryId: 'CallFlow:c1:0',
      attempt: 1,
    });
    expect(result).toEqual({ id: 'cl1a', url: 'https://acme.pipedrive.com/person/17' });
    expect(fake.callLogs).toHaveLength(1);
    expect(fake.callLogs[0]).toMatchObject({
      subject: 'Incoming call from Anna Müller',
      outcome: 'connected',
      from_phone_number: '41215522000',
      to_phone_number: '41445556677',
      start_time: '2026-11-26 10:00:00',
      end_time: '2026-11-26 10:02:05',
      duration: '120',
      person_id: 17,
      user_id: 42,
      note: deliveryMark('CallFlow:c1:0'),
    });
    const post = fake.requests.find((request) => request.method === 'POST');
    expect(post?.headers['x-api-token']).toBe(PIPEDRIVE_TOKEN);
  });

  it('links an organization, and nothing for a contact another source found', async () => {
    const action = pipedrive(fake.url);
    await action.run(payload({ id: 'org-5', company: 'Helvetia AG', source: 'pipedrive' }), {
      signal: never(),
      deliveryId: 'd1',
      attempt: 1,
    });
    await action.run(payload({ id: '17', name: 'Someone', source: 'ldap' }), {
      signal: never(),
      deliveryId: 'd2',
      attempt: 1,
    });
    expect(fake.callLogs[0]).toMatchObject({ org_id: 5 });
    expect(fake.callLogs[0]).not.toHaveProperty('person_id');
    expect(fake.callLogs[1]).not.toHaveProperty('person_id');
    expect(fake.callLogs[1]).not.toHaveProperty('org_id');
  });

  it('a missed call is no_answer; an outgoing call is from the caller to the number dialled', async () => {
    const action = pipedrive(fake.url);
    await action.run(
      payload(null, {
        status: 'missed',
        answeredTime: undefined,
        durationSeconds: undefined,
        direction: 'outgoing',
      }),
      { signal: never(), deliveryId: 'd3', attempt: 1 },
    );
    expect(fake.callLogs[0]).toMatchObject({ outcome: 'no_answer', subject: 'Outgoing call to 41445556677' });
    expect(fake.callLogs[0]).not.toHaveProperty('duration');
  });

  it('a delivery tried again finds its call log among older pages and logs nothing new', async () => {
    const action = pipedrive(fake.url);
    for (let n = 0; n < 60; n++) {
      await action.run(payload(null), { signal: never(), deliveryId: `other-${n}`, attempt: 1 });
    }
    const first = await action.run(payload(null), { signal: never(), deliveryId: 'late', attempt: 1 });
    for (let n = 0; n < 60; n++) {
      await action.run(payload(null), { signal: never(), deliveryId: `after-${n}`, attempt: 1 });
    }
    const again = await action.run(payload(null), { signal: never(), deliveryId: 'late', attempt: 2 });
    expect(again).toEqual(first);
    expect(fake.callLogs).toHaveLength(121);
  });

  it('a call without a start time or a destination cannot be logged: a permanent failure', async () => {
    const action = pipedrive(fake.url);
    const error = await action
      .run(payload(null, { startedTime: undefined, answeredTime: undefined }), {
        signal: never(),
        deliveryId: 'd4',
        attempt: 1,
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).permanent).toBe(true);
    expect(fake.callLogs).toHaveLength(0);
  });

  it('a 429 is retryable with the wait Pipedrive asks for', async () => {
    fake.fail({ status: 429, headers: { 'retry-after': '7' } });
    const error = await pipedrive(fake.url)
      .run(payload(null), { signal: never(), deliveryId: 'd5', attempt: 1 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DeliveryError);
    expect(error).toMatchObject({ permanent: false, retryAfterMs: 7000 });
  });

  it('the example of docs/connectors/pipedrive.md is a valid configuration', () => {
    const config = configSchema.parse(
      YAML.parse(docExample('docs/connectors/pipedrive.md', 'type: pipedrive')),
    );
    const actions = config.tenants[0]!.workflows['CallFlow']!.actions;
    expect(actions[0]).toMatchObject({ type: 'pipedrive', source: 'pipedrive' });
  });

  it('refuses a config with both a token and auth', () => {
    expect(
      pipedriveActionSchema.safeParse({ type: 'pipedrive', token: 'a', auth: { type: 'bearer', token: 'b' } })
        .error?.issues[0]?.message,
    ).toBe('give either token or auth, not both');
  });
});
