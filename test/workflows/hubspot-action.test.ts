import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import { createHubspotAction, hubspotActionSchema } from '../../src/workflows/actions/hubspot.js';
import { DeliveryError } from '../../src/workflows/actions/types.js';
import { HUBSPOT_TOKEN, type HubspotFake, startHubspotFake } from '../sources/vendors/hubspot-fake.js';
import { docExample } from '../support/helper.js';
import { actionContract, PAYLOAD } from './action-contract.js';

// HubSpot itself is not reachable from the tests: the fake follows its published OpenAPI documents
// and checks every call the action sends against the extract in hubspot.schema.json.

const env = { HUBSPOT_TOKEN };

const hubspot = (base: string, settings: Record<string, unknown> = {}) =>
  createHubspotAction(
    hubspotActionSchema.parse({
      type: 'hubspot',
      baseUrl: base,
      tokenEnv: 'HUBSPOT_TOKEN',
      source: 'hubspot',
      ...settings,
    }),
    { baseDir: process.cwd() },
    { env },
  );

actionContract('hubspot', async () => {
  const fake = await startHubspotFake();
  return {
    action: hubspot(fake.url),
    records: async () => fake.calls.length,
    at: (port, timeoutMs) => hubspot(`http://127.0.0.1:${port}`, timeoutMs ? { timeoutMs } : {}),
    async refused() {
      fake.fail({ status: 403, body: { status: 'error', category: 'MISSING_SCOPES' } });
      return hubspot(fake.url);
    },
    async redirect() {
      fake.fail({ status: 301, headers: { location: `${fake.url}/elsewhere` } });
      return hubspot(fake.url);
    },
    async renewal() {
      const action = hubspot(fake.url, {
        tokenEnv: undefined,
        auth: { type: 'oauth2', tokenUrl: `${fake.url}/token`, clientId: 'callcard', clientSecret: 's' },
      });
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

describe('hubspot action', () => {
  let fake: HubspotFake;
  const never = () => new AbortController().signal;
  beforeEach(async () => {
    fake = await startHubspotFake();
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

  it('logs the call with its properties as strings, associated with the contact the hubspot source found', async () => {
    const action = hubspot(fake.url, { portalId: 4242, ownerId: 77 });
    const result = await action.run(payload({ id: '101', name: 'Anna Müller', source: 'hubspot' }), {
      signal: never(),
      deliveryId: 'CallFlow:c1:0',
      attempt: 1,
    });
    expect(result).toEqual({ id: '90001', url: 'https://app.hubspot.com/contacts/4242/record/0-48/90001' });
    expect(fake.calls[0]!.properties).toEqual({
      hs_timestamp: '2026-11-26T10:00:00.000Z',
      hs_call_title: 'Incoming call from Anna Müller',
      hs_call_direction: 'INBOUND',
      hs_call_status: 'COMPLETED',
      hs_call_duration: '120000',
      hs_call_from_number: '41215522000',
      hs_call_to_number: '41445556677',
      hubspot_owner_id: '77',
      hs_call_external_id: 'CallFlow:c1:0',
    });
    expect(fake.calls[0]!.associations).toEqual([
      { to: { id: '101' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 194 }] },
    ]);
    expect(
      fake.requests.every((request) => request.headers.authorization === `Bearer ${HUBSPOT_TOKEN}`),
    ).toBe(true);
  });

  it('associates a company, and nothing for a contact another source found', async () => {
    const action = hubspot(fake.url);
    await action.run(payload({ id: 'company-601', company: 'Müller GmbH', source: 'hubspot' }), {
      signal: never(),
      deliveryId: 'd1',
      attempt: 1,
    });
    await action.run(payload({ id: '101', name: 'Someone', source: 'ldap' }), {
      signal: never(),
      deliveryId: 'd2',
      attempt: 1,
    });
    expect(fake.calls[0]!.associations).toEqual([
      { to: { id: '601' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 182 }] },
    ]);
    expect(fake.calls[1]!.associations).toEqual([]);
  });

  it('a missed outgoing call is NO_ANSWER and OUTBOUND, without a duration', async () => {
    await hubspot(fake.url).run(
      payload(null, { status: 'missed', durationSeconds: undefined, direction: 'outgoing' }),
      { signal: never(), deliveryId: 'd3', attempt: 1 },
    );
    expect(fake.calls[0]!.properties).toMatchObject({
      hs_call_status: 'NO_ANSWER',
      hs_call_direction: 'OUTBOUND',
      hs_call_title: 'Outgoing call to 41445556677',
    });
    expect(fake.calls[0]!.properties).not.toHaveProperty('hs_call_duration');
  });

  it('a delivery tried again finds its call by hs_call_external_id and makes none', async () => {
    const action = hubspot(fake.url);
    const first = await action.run(payload(null), { signal: never(), deliveryId: 'again', attempt: 1 });
    await action.run(payload(null), { signal: never(), deliveryId: 'other', attempt: 1 });
    const again = await action.run(payload(null), { signal: never(), deliveryId: 'again', attempt: 3 });
    expect(again).toEqual(first);
    expect(fake.calls).toHaveLength(2);
  });

  it('a call that changes after it was logged updates its record', async () => {
    const action = hubspot(fake.url);
    expect(action.updates).toBe(true);
    const made = await action.run(payload(null, { status: 'missed', durationSeconds: undefined }), {
      signal: never(),
      deliveryId: 'first',
      attempt: 1,
    });
    await action.run(payload(null), {
      signal: never(),
      deliveryId: 'first:update:1',
      attempt: 1,
      update: { of: 'first', made: true, id: made.id! },
    });
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]!.properties).toMatchObject({
      hs_call_status: 'COMPLETED',
      hs_call_duration: '120000',
      hs_call_external_id: 'first',
    });
  });

  it('a 429 is retryable with the wait HubSpot asks for; a call without a start time is permanent', async () => {
    fake.fail({ status: 429, headers: { 'retry-after': '10' } });
    const limited = await hubspot(fake.url)
      .run(payload(null), { signal: never(), deliveryId: 'd5', attempt: 1 })
      .catch((caught: unknown) => caught);
    expect(limited).toMatchObject({ permanent: false, retryAfterMs: 10_000 });
    const broken = await hubspot(fake.url)
      .run(payload(null, { startedTime: undefined, answeredTime: undefined }), {
        signal: never(),
        deliveryId: 'd6',
        attempt: 1,
      })
      .catch((caught: unknown) => caught);
    expect(broken).toBeInstanceOf(DeliveryError);
    expect((broken as DeliveryError).permanent).toBe(true);
  });

  it('the example of docs/connectors/hubspot.md is a valid configuration', () => {
    const config = configSchema.parse(YAML.parse(docExample('docs/connectors/hubspot.md', 'type: hubspot')));
    expect(config.tenants[0]!.workflows['CallFlow']!.actions[0]).toMatchObject({
      type: 'hubspot',
      source: 'hubspot',
    });
  });
});
