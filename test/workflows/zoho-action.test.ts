import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import { DeliveryError } from '../../src/workflows/actions/types.js';
import { createZohoAction, zohoActionSchema, zohoRef } from '../../src/workflows/actions/zoho.js';
import { startZohoFake, type ZohoFake } from '../sources/vendors/zoho-fake.js';
import { docExample } from '../support/helper.js';
import { actionContract, PAYLOAD } from './action-contract.js';

// Zoho itself is not reachable from the tests: the fake follows Zoho's published OpenAPI document
// for CRM API v8 Records and checks every request the action sends against the extract in
// zoho.schema.json.

const zoho = (base: string, settings: Record<string, unknown> = {}, tokens = base) =>
  createZohoAction(
    zohoActionSchema.parse({
      type: 'zoho',
      dataCentre: 'eu',
      apiDomain: base,
      // The tests' stand-in for the OAuth connection: a token from the fake's own endpoint.
      auth: { type: 'oauth2', tokenUrl: `${tokens}/token`, clientId: '1000.FAKE', clientSecret: 's' },
      source: 'zoho',
      ...settings,
    }),
    { baseDir: process.cwd() },
  );

actionContract('zoho', async () => {
  const fake = await startZohoFake();
  return {
    action: zoho(fake.url),
    records: async () => fake.modules.Calls.length,
    at: (port, timeoutMs) => zoho(`http://127.0.0.1:${port}`, timeoutMs ? { timeoutMs } : {}, fake.url),
    async refused() {
      fake.fail({
        status: 400,
        body: { code: 'INVALID_DATA', status: 'error', message: 'invalid data', details: {} },
      });
      return zoho(fake.url);
    },
    async redirect() {
      fake.fail({ status: 301, headers: { location: `${fake.url}/elsewhere` } });
      return zoho(fake.url);
    },
    async renewal() {
      const action = zoho(fake.url);
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

describe('zoho action', () => {
  let fake: ZohoFake;
  const never = () => new AbortController().signal;
  beforeEach(async () => {
    fake = await startZohoFake();
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

  it('logs the call in the Calls module on the contact the zoho source found, with Zoho-oauthtoken', async () => {
    const result = await zoho(fake.url).run(
      payload({ id: '5725767000000100101', name: 'Anna Müller (Sales), Zürich', source: 'zoho' }),
      { signal: never(), deliveryId: 'CallFlow:c1:0', attempt: 1 },
    );
    const id = fake.modules.Calls[0]!.id;
    expect(result).toEqual({ id, url: `https://crm.zoho.eu/crm/tab/Calls/${id}` });
    expect(fake.modules.Calls[0]).toMatchObject({
      Subject: `Incoming call from Anna Müller (Sales), Zürich · ${zohoRef('CallFlow:c1:0')}`,
      Call_Type: 'Inbound',
      Call_Start_Time: '2026-11-26T10:00:00+00:00',
      Call_Duration: '02:00',
      Description: 'From: 41215522000\nAnswered\ncallcard delivery CallFlow:c1:0',
      Who_Id: { id: '5725767000000100101' },
    });
    expect(
      fake.requests.every((request) => request.headers.authorization === 'Zoho-oauthtoken oauth-1'),
    ).toBe(true);
  });

  it('a lead or an account is the What_Id of its module; a missed incoming call is Missed', async () => {
    const action = zoho(fake.url);
    await action.run(payload({ id: 'lead-5725767000000300701', name: 'Dora', source: 'zoho' }), {
      signal: never(),
      deliveryId: 'd1',
      attempt: 1,
    });
    await action.run(
      payload({ id: 'account-5725767000000200601', company: 'Müller', source: 'zoho' }, { status: 'missed' }),
      {
        signal: never(),
        deliveryId: 'd2',
        attempt: 1,
      },
    );
    await action.run(
      payload({ id: '5725767000000100101', name: 'X', source: 'ldap' }, { direction: 'outgoing' }),
      {
        signal: never(),
        deliveryId: 'd3',
        attempt: 1,
      },
    );
    expect(
      fake.modules.Calls.map((row) => [row['What_Id'], row['$se_module'], row['Call_Type'], row['Who_Id']]),
    ).toEqual([
      [{ id: '5725767000000300701' }, 'Leads', 'Inbound', undefined],
      [{ id: '5725767000000200601' }, 'Accounts', 'Missed', undefined],
      [undefined, undefined, 'Outbound', undefined],
    ]);
    expect(fake.modules.Calls[1]!['Call_Duration']).toBe('00:00');
  });

  it('a delivery tried again finds its call by the mark in its subject and makes none', async () => {
    const action = zoho(fake.url);
    const first = await action.run(payload(null), { signal: never(), deliveryId: 'again', attempt: 1 });
    await action.run(payload(null), { signal: never(), deliveryId: 'other', attempt: 1 });
    const again = await action.run(payload(null), { signal: never(), deliveryId: 'again', attempt: 3 });
    expect(again).toEqual(first);
    expect(fake.modules.Calls).toHaveLength(2);
  });

  it('a 429 is retryable with the wait Zoho asks for; a call without a start time is permanent', async () => {
    fake.fail({ status: 429, headers: { 'retry-after': '10' } });
    const limited = await zoho(fake.url)
      .run(payload(null), { signal: never(), deliveryId: 'd5', attempt: 1 })
      .catch((caught: unknown) => caught);
    expect(limited).toMatchObject({ permanent: false, retryAfterMs: 10_000 });
    const broken = await zoho(fake.url)
      .run(payload(null, { startedTime: undefined, answeredTime: undefined }), {
        signal: never(),
        deliveryId: 'd6',
        attempt: 1,
      })
      .catch((caught: unknown) => caught);
    expect(broken).toBeInstanceOf(DeliveryError);
    expect((broken as DeliveryError).permanent).toBe(true);
  });

  it('the example of docs/connectors/zoho.md is a valid configuration', () => {
    const config = configSchema.parse(YAML.parse(docExample('docs/connectors/zoho.md', 'type: zoho')));
    expect(config.tenants[0]!.workflows['CallFlow']!.actions[0]).toMatchObject({
      type: 'zoho',
      source: 'zoho',
      auth: { type: 'oauth2Code', connection: 'zoho' },
    });
  });
});
