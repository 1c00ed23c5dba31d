import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import { createSalesforceAction, salesforceActionSchema } from '../../src/workflows/actions/salesforce.js';
import { DeliveryError } from '../../src/workflows/actions/types.js';
import { type SalesforceFake, sfId, startSalesforceFake } from '../sources/vendors/salesforce-fake.js';
import { docExample } from '../support/helper.js';
import { actionContract, PAYLOAD } from './action-contract.js';

// Salesforce itself is not reachable from the tests: the fake follows its published REST API
// Developer Guide and Object Reference, and checks every request the action sends against the
// extract written from them in salesforce.schema.json.

const env = { SF_SECRET: 'consumer-secret' };

const salesforce = (base: string, settings: Record<string, unknown> = {}) =>
  createSalesforceAction(
    salesforceActionSchema.parse({
      type: 'salesforce',
      instanceUrl: base,
      clientId: '3MVG9fake',
      clientSecretEnv: 'SF_SECRET',
      source: 'salesforce',
      ...settings,
    }),
    { baseDir: process.cwd() },
    { env },
  );

actionContract('salesforce', async () => {
  const fake = await startSalesforceFake();
  return {
    action: salesforce(fake.url),
    records: async () => fake.objects.Task.length,
    at: (port, timeoutMs) => salesforce(`http://127.0.0.1:${port}`, timeoutMs ? { timeoutMs } : {}),
    async refused() {
      fake.fail({
        status: 400,
        body: [{ message: 'Call Type: bad value', errorCode: 'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST' }],
      });
      return salesforce(fake.url);
    },
    async redirect() {
      fake.fail({ status: 301, headers: { location: `${fake.url}/elsewhere` } });
      return salesforce(fake.url);
    },
    async renewal() {
      const action = salesforce(fake.url);
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

describe('salesforce action', () => {
  let fake: SalesforceFake;
  const never = () => new AbortController().signal;
  beforeEach(async () => {
    fake = await startSalesforceFake();
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
  const ANNA = sfId('003', 101);

  it('logs the call as a Task of the subtype Call on the contact the salesforce source found', async () => {
    const action = salesforce(fake.url, { ownerId: sfId('005', 7) });
    const result = await action.run(payload({ id: ANNA, name: 'Anna Müller', source: 'salesforce' }), {
      signal: never(),
      deliveryId: 'CallFlow:c1:0',
      attempt: 1,
    });
    const id = sfId('00T', 1);
    expect(result).toEqual({ id, url: `${fake.url}/${id}` });
    expect(fake.objects.Task[0]).toMatchObject({
      Subject: 'Incoming call from Anna Müller',
      TaskSubtype: 'Call',
      Status: 'Completed',
      ActivityDate: '2026-11-26',
      CallType: 'Inbound',
      CallDisposition: 'Answered',
      CallDurationInSeconds: 120,
      CallObject: 'CallFlow:c1:0',
      WhoId: ANNA,
      OwnerId: sfId('005', 7),
      Description: 'From: 41215522000\nTo: 41445556677\nStarted: 2026-11-26T10:00:00.000Z',
    });
    expect(fake.objects.Task[0]).not.toHaveProperty('WhatId');
    expect(fake.requests.every((request) => request.headers.authorization === 'Bearer oauth-1')).toBe(true);
  });

  it('a lead is the WhoId, an account the WhatId; a record another source found is not linked', async () => {
    const action = salesforce(fake.url);
    const run = (contact: unknown, deliveryId: string) =>
      action.run(payload(contact), { signal: never(), deliveryId, attempt: 1 });
    await run({ id: sfId('00Q', 5), name: 'Dora Berger', source: 'salesforce' }, 'd1');
    await run({ id: sfId('001', 6), company: 'Müller GmbH', source: 'salesforce' }, 'd2');
    await run({ id: ANNA, name: 'Someone', source: 'ldap' }, 'd3');
    expect(fake.objects.Task.map((task) => [task['WhoId'], task['WhatId']])).toEqual([
      [sfId('00Q', 5), undefined],
      [undefined, sfId('001', 6)],
      [undefined, undefined],
    ]);
  });

  it('a missed outgoing call is Outbound and not answered, without a duration', async () => {
    await salesforce(fake.url).run(
      payload(null, { status: 'missed', durationSeconds: 0, direction: 'outgoing' }),
      { signal: never(), deliveryId: 'd4', attempt: 1 },
    );
    expect(fake.objects.Task[0]).toMatchObject({
      CallType: 'Outbound',
      CallDisposition: 'Not answered',
      Subject: 'Outgoing call to 41445556677',
    });
    expect(fake.objects.Task[0]).not.toHaveProperty('CallDurationInSeconds');
  });

  it('a delivery tried again finds its task by CallObject and makes none', async () => {
    const action = salesforce(fake.url);
    const first = await action.run(payload(null), { signal: never(), deliveryId: "it's:again", attempt: 1 });
    await action.run(payload(null), { signal: never(), deliveryId: 'other', attempt: 1 });
    const again = await action.run(payload(null), { signal: never(), deliveryId: "it's:again", attempt: 3 });
    expect(again).toEqual(first);
    expect(fake.objects.Task).toHaveLength(2);
    expect(fake.statements).toContain("SELECT Id FROM Task WHERE CallObject = 'it\\'s:again'");
  });

  it('a call that changes after it was logged updates its task', async () => {
    const action = salesforce(fake.url);
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
    expect(fake.objects.Task).toHaveLength(1);
    expect(fake.objects.Task[0]).toMatchObject({
      CallDisposition: 'Answered',
      CallDurationInSeconds: 120,
      CallObject: 'first',
      TaskSubtype: 'Call',
    });
  });

  it('a 429 or 503 is retryable with the wait Salesforce asks for; a call without a start time is permanent', async () => {
    fake.fail({ status: 503, headers: { 'retry-after': '10' } });
    const limited = await salesforce(fake.url)
      .run(payload(null), { signal: never(), deliveryId: 'd5', attempt: 1 })
      .catch((caught: unknown) => caught);
    expect(limited).toMatchObject({ permanent: false, retryAfterMs: 10_000 });
    const broken = await salesforce(fake.url)
      .run(payload(null, { startedTime: undefined, answeredTime: undefined }), {
        signal: never(),
        deliveryId: 'd6',
        attempt: 1,
      })
      .catch((caught: unknown) => caught);
    expect(broken).toBeInstanceOf(DeliveryError);
    expect((broken as DeliveryError).permanent).toBe(true);
  });

  it('needs a client id and secret or auth', () => {
    const result = salesforceActionSchema.safeParse({ type: 'salesforce', instanceUrl: fake.url });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/needs clientId and clientSecret/);
    const both = salesforceActionSchema.safeParse({
      type: 'salesforce',
      instanceUrl: fake.url,
      clientId: 'x',
      clientSecretEnv: 'SF_SECRET',
      auth: { type: 'bearer', token: 't' },
    });
    expect(both.error?.issues[0]?.message).toBe('give either clientId or auth, not both');
  });

  it('the example of docs/connectors/salesforce.md is a valid configuration', () => {
    const config = configSchema.parse(
      YAML.parse(docExample('docs/connectors/salesforce.md', 'type: salesforce')),
    );
    expect(config.tenants[0]!.workflows['CallFlow']!.actions[0]).toMatchObject({
      type: 'salesforce',
      source: 'salesforce',
    });
  });
});
