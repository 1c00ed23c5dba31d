import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import { DeliveryError } from '../../src/workflows/actions/types.js';
import {
  createWeclappAction,
  weclappActionSchema,
  weclappMark,
} from '../../src/workflows/actions/weclapp.js';
import { startWeclappFake, WECLAPP_TOKEN, type WeclappFake } from '../sources/vendors/weclapp-fake.js';
import { docExample } from '../support/helper.js';
import { actionContract, PAYLOAD } from './action-contract.js';

// weclapp itself is not reachable from the tests: the fake follows its published OpenAPI document
// and checks every CRM event the action sends against the extract in weclapp.schema.json.

const env = { WECLAPP_TOKEN };
const T0 = Date.parse('2026-11-02T08:00:00Z');

const weclapp = (api: string, settings: Record<string, unknown> = {}) =>
  createWeclappAction(
    weclappActionSchema.parse({
      type: 'weclapp',
      baseUrl: api,
      tokenEnv: 'WECLAPP_TOKEN',
      source: 'weclapp',
      unknownCallerPartyId: '1',
      ...settings,
    }),
    { baseDir: process.cwd() },
    { env },
  );

const withParties = (fake: WeclappFake) => {
  fake.parties.push(
    { id: '1', partyType: 'ORGANIZATION', company: 'Unknown callers', lastModifiedDate: T0 },
    { id: '11', partyType: 'PERSON', firstName: 'Anna', lastName: 'Müller', lastModifiedDate: T0 },
  );
  return fake;
};

actionContract('weclapp', async () => {
  const fake = withParties(await startWeclappFake());
  return {
    action: weclapp(fake.api),
    records: async () => fake.events.length,
    at: (port, timeoutMs) =>
      weclapp(`http://127.0.0.1:${port}/webapp/api/v2`, timeoutMs ? { timeoutMs } : {}),
    async refused() {
      fake.fail({ status: 403, body: { title: 'forbidden', status: 403 } });
      return weclapp(fake.api);
    },
    async redirect() {
      fake.fail({ status: 307, headers: { location: `${fake.url}/elsewhere` } });
      return weclapp(fake.api);
    },
    async renewal() {
      const action = weclapp(fake.api, {
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

describe('weclapp action', () => {
  let fake: WeclappFake;
  const never = () => new AbortController().signal;
  beforeEach(async () => {
    fake = withParties(await startWeclappFake());
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

  it('logs an incoming call on the party the weclapp source found, with the token', async () => {
    const result = await weclapp(fake.api).run(
      payload({ id: '11', name: 'Anna Müller', source: 'weclapp' }),
      {
        signal: never(),
        deliveryId: 'CallFlow:c1:0',
        attempt: 1,
      },
    );
    expect(result).toEqual({ id: '7001' });
    expect(fake.events[0]).toMatchObject({
      type: 'INCOMING_CALL',
      subject: 'Incoming call from Anna Müller',
      partyId: '11',
      startDate: Date.parse('2026-11-26T10:00:00Z'),
      endDate: Date.parse('2026-11-26T10:02:05Z'),
      description: `<p>From: 41215522000</p><p>Answered, 120 s</p><p>${weclappMark('CallFlow:c1:0')}</p>`,
    });
    expect(fake.requests.every((request) => request.headers['authenticationtoken'] === WECLAPP_TOKEN)).toBe(
      true,
    );
  });

  it('an outgoing call of a number no party has goes on the unknown callers party; without one, nothing is logged', async () => {
    await weclapp(fake.api).run(
      payload({ id: '11', name: 'X', source: 'ldap' }, { direction: 'outgoing', status: 'missed' }),
      {
        signal: never(),
        deliveryId: 'd1',
        attempt: 1,
      },
    );
    expect(fake.events[0]).toMatchObject({
      type: 'OUTGOING_CALL',
      partyId: '1',
      subject: 'Outgoing call to X',
    });
    expect(fake.events[0]!['description']).toContain('<p>Not answered</p>');
    const none = await weclapp(fake.api, { unknownCallerPartyId: undefined }).run(payload(null), {
      signal: never(),
      deliveryId: 'd2',
      attempt: 1,
    });
    expect(none).toEqual({});
    expect(fake.events).toHaveLength(1);
  });

  it('a delivery tried again finds its event by its mark and makes none', async () => {
    const action = weclapp(fake.api);
    const first = await action.run(payload(null), { signal: never(), deliveryId: 'again', attempt: 1 });
    await action.run(payload(null), { signal: never(), deliveryId: 'other', attempt: 1 });
    expect(await action.run(payload(null), { signal: never(), deliveryId: 'again', attempt: 2 })).toEqual(
      first,
    );
    expect(fake.events).toHaveLength(2);
  });

  it('a call without a start time is a permanent failure', async () => {
    const error = await weclapp(fake.api)
      .run(payload(null, { startedTime: undefined, answeredTime: undefined }), {
        signal: never(),
        deliveryId: 'd3',
        attempt: 1,
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).permanent).toBe(true);
  });

  it('needs a tenant or a base URL', () => {
    expect(weclappActionSchema.safeParse({ type: 'weclapp', token: 'x' }).error?.issues[0]?.message).toBe(
      'needs tenant (acme of acme.weclapp.com) or baseUrl',
    );
  });

  it('the example of docs/connectors/weclapp.md is a valid configuration', () => {
    const config = configSchema.parse(YAML.parse(docExample('docs/connectors/weclapp.md', 'type: weclapp')));
    expect(config.tenants[0]!.workflows['CallFlow']!.actions[0]).toMatchObject({
      type: 'weclapp',
      tenant: 'acme',
    });
  });
});
