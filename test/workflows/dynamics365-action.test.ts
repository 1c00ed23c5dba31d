import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import {
  activityIdOf,
  createDynamics365Action,
  dynamics365ActionSchema,
} from '../../src/workflows/actions/dynamics365.js';
import { DeliveryError } from '../../src/workflows/actions/types.js';
import {
  DYNAMICS_TENANT,
  type DynamicsFake,
  guid,
  startDynamicsFake,
} from '../sources/vendors/dynamics365-fake.js';
import { docExample } from '../support/helper.js';
import { actionContract, PAYLOAD } from './action-contract.js';

// Dataverse itself is not reachable from the tests: the fake follows Microsoft's published Web API
// reference and checks every request the action sends against the extract in dynamics365.schema.json.

const env = { DYNAMICS_SECRET: 'app-secret' };

const dynamics = (base: string, settings: Record<string, unknown> = {}, authority = base) =>
  createDynamics365Action(
    dynamics365ActionSchema.parse({
      type: 'dynamics365',
      url: base,
      tenantId: DYNAMICS_TENANT,
      authorityUrl: authority,
      clientId: '11111111-2222-3333-4444-555555555555',
      clientSecretEnv: 'DYNAMICS_SECRET',
      source: 'dynamics',
      ...settings,
    }),
    { baseDir: process.cwd() },
    { env },
  );

actionContract('dynamics365', async () => {
  const fake = await startDynamicsFake();
  return {
    action: dynamics(fake.url),
    records: async () => fake.tables.phonecalls.length,
    // The token still comes from the fake: the case is the API that is down or silent.
    at: (port, timeoutMs) => dynamics(`http://127.0.0.1:${port}`, timeoutMs ? { timeoutMs } : {}, fake.url),
    async refused() {
      fake.fail({ status: 400, body: { error: { code: '0x80040203', message: 'Invalid argument' } } });
      return dynamics(fake.url);
    },
    async redirect() {
      fake.fail({ status: 301, headers: { location: `${fake.url}/elsewhere` } });
      return dynamics(fake.url);
    },
    async renewal() {
      const action = dynamics(fake.url);
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

describe('dynamics365 action', () => {
  let fake: DynamicsFake;
  const never = () => new AbortController().signal;
  beforeEach(async () => {
    fake = await startDynamicsFake();
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
  const ANNA = guid('anna');

  it('logs the call as a phone call activity regarding the contact the dynamics365 source found', async () => {
    const result = await dynamics(fake.url).run(
      payload({ id: ANNA, name: 'Anna Müller', source: 'dynamics' }),
      {
        signal: never(),
        deliveryId: 'CallFlow:c1:0',
        attempt: 1,
      },
    );
    const id = activityIdOf('CallFlow:c1:0');
    expect(result).toEqual({ id, url: `${fake.url}/main.aspx?pagetype=entityrecord&etn=phonecall&id=${id}` });
    expect(fake.tables.phonecalls[0]).toMatchObject({
      activityid: id,
      subject: 'Incoming call from Anna Müller',
      directioncode: false,
      phonenumber: '41215522000',
      actualdurationminutes: 2,
      actualstart: '2026-11-26T10:00:00.000Z',
      actualend: '2026-11-26T10:02:05.000Z',
      description: 'From: 41215522000\nAnswered, 120 s\ncallcard delivery CallFlow:c1:0',
      'regardingobjectid_contact@odata.bind': `/contacts(${ANNA})`,
    });
    expect(fake.requests.every((request) => request.headers.authorization === 'Bearer oauth-1')).toBe(true);
  });

  it('an account found is the regarding record; a record another source found is not linked', async () => {
    const action = dynamics(fake.url);
    const account = guid('mueller');
    await action.run(payload({ id: `account-${account}`, company: 'Müller GmbH', source: 'dynamics' }), {
      signal: never(),
      deliveryId: 'd1',
      attempt: 1,
    });
    await action.run(
      payload({ id: ANNA, name: 'Someone', source: 'ldap' }, { direction: 'outgoing', status: 'missed' }),
      {
        signal: never(),
        deliveryId: 'd2',
        attempt: 1,
      },
    );
    expect(fake.tables.phonecalls[0]).toMatchObject({
      'regardingobjectid_account@odata.bind': `/accounts(${account})`,
    });
    expect(fake.tables.phonecalls[1]).toMatchObject({
      directioncode: true,
      phonenumber: '41445556677',
      subject: 'Outgoing call to Someone',
    });
    expect(fake.tables.phonecalls[1]).not.toHaveProperty('regardingobjectid_contact@odata.bind');
    expect(fake.tables.phonecalls[1]).not.toHaveProperty('actualdurationminutes');
  });

  it('a delivery tried again finds its activity by the id made from the delivery and makes none', async () => {
    const action = dynamics(fake.url);
    const first = await action.run(payload(null), { signal: never(), deliveryId: 'again', attempt: 1 });
    await action.run(payload(null), { signal: never(), deliveryId: 'other', attempt: 1 });
    const again = await action.run(payload(null), { signal: never(), deliveryId: 'again', attempt: 3 });
    expect(again).toEqual(first);
    expect(fake.tables.phonecalls).toHaveLength(2);
    expect(activityIdOf('again')).not.toBe(activityIdOf('other'));
    expect(activityIdOf('again')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it('a 429 is retryable with the wait Dataverse asks for; a call without a start time is permanent', async () => {
    fake.fail({ status: 429, headers: { 'retry-after': '10' } });
    const limited = await dynamics(fake.url)
      .run(payload(null), { signal: never(), deliveryId: 'd5', attempt: 1 })
      .catch((caught: unknown) => caught);
    expect(limited).toMatchObject({ permanent: false, retryAfterMs: 10_000 });
    const broken = await dynamics(fake.url)
      .run(payload(null, { startedTime: undefined, answeredTime: undefined }), {
        signal: never(),
        deliveryId: 'd6',
        attempt: 1,
      })
      .catch((caught: unknown) => caught);
    expect(broken).toBeInstanceOf(DeliveryError);
    expect((broken as DeliveryError).permanent).toBe(true);
  });

  it('needs tenantId with clientId', () => {
    const result = dynamics365ActionSchema.safeParse({
      type: 'dynamics365',
      url: fake.url,
      clientId: 'x',
      clientSecretEnv: 'DYNAMICS_SECRET',
    });
    expect(result.error?.issues.map((issue) => issue.message)).toEqual(['needs tenantId with clientId']);
  });

  it('the example of docs/connectors/dynamics365.md is a valid configuration', () => {
    const config = configSchema.parse(
      YAML.parse(docExample('docs/connectors/dynamics365.md', 'type: dynamics365')),
    );
    expect(config.tenants[0]!.workflows['CallFlow']!.actions[0]).toMatchObject({
      type: 'dynamics365',
      source: 'dynamics',
    });
  });
});
