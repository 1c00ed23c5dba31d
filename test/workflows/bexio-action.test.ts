import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import { bexioActionSchema, bexioMark, createBexioAction } from '../../src/workflows/actions/bexio.js';
import { DeliveryError } from '../../src/workflows/actions/types.js';
import { BEXIO_TOKEN, type BexioFake, startBexioFake } from '../sources/vendors/bexio-fake.js';
import { docExample } from '../support/helper.js';
import { actionContract, PAYLOAD } from './action-contract.js';

// bexio itself is not reachable from the tests: the fake follows its published API reference and
// checks every note the action sends against the extract in bexio.schema.json.

const env = { BEXIO_TOKEN };

const bexio = (base: string, settings: Record<string, unknown> = {}) =>
  createBexioAction(
    bexioActionSchema.parse({
      type: 'bexio',
      baseUrl: base,
      tokenEnv: 'BEXIO_TOKEN',
      userId: 4,
      source: 'bexio',
      ...settings,
    }),
    { baseDir: process.cwd() },
    { env },
  );

actionContract('bexio', async () => {
  const fake = await startBexioFake();
  return {
    action: bexio(fake.url),
    records: async () => fake.notes.length,
    at: (port, timeoutMs) => bexio(`http://127.0.0.1:${port}`, timeoutMs ? { timeoutMs } : {}),
    async refused() {
      fake.fail({ status: 403, body: { error_code: 403, message: 'Forbidden' } });
      return bexio(fake.url);
    },
    async redirect() {
      fake.fail({ status: 308, headers: { location: `${fake.url}/elsewhere` } });
      return bexio(fake.url);
    },
    async renewal() {
      const action = bexio(fake.url, {
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

describe('bexio action', () => {
  let fake: BexioFake;
  const never = () => new AbortController().signal;
  beforeEach(async () => {
    fake = await startBexioFake();
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

  it('writes a note on the contact the bexio source found, at the start in bexio time, with the token', async () => {
    const result = await bexio(fake.url).run(payload({ id: '11', name: 'Anna Müller', source: 'bexio' }), {
      signal: never(),
      deliveryId: 'CallFlow:c1:0',
      attempt: 1,
    });
    expect(result).toEqual({ id: '301' });
    expect(fake.notes[0]).toMatchObject({
      user_id: 4,
      contact_id: 11,
      // 10:00 UTC is 11:00 in Zurich in November.
      event_start: '2026-11-26 11:00:00',
      subject: 'Incoming call from Anna Müller',
      info: `From: 41215522000\nAnswered, 120 s\n${bexioMark('CallFlow:c1:0')}`,
    });
    expect(fake.requests.every((request) => request.headers.authorization === `Bearer ${BEXIO_TOKEN}`)).toBe(
      true,
    );
  });

  it('a call of a number no bexio contact has gets a note of its own; a missed outgoing call says so', async () => {
    await bexio(fake.url, { timeZone: 'UTC' }).run(
      payload({ id: '11', name: 'X', source: 'ldap' }, { direction: 'outgoing', status: 'missed' }),
      { signal: never(), deliveryId: 'd1', attempt: 1 },
    );
    expect(fake.notes[0]).toMatchObject({
      subject: 'Outgoing call to X',
      event_start: '2026-11-26 10:00:00',
      contact_id: null,
    });
    expect(fake.notes[0]!['info']).toContain('Not answered');
  });

  it('a delivery tried again finds its note by its mark and writes none', async () => {
    const action = bexio(fake.url);
    const first = await action.run(payload(null), { signal: never(), deliveryId: 'again', attempt: 1 });
    // Another call at the same second: another note.
    await action.run(payload(null), { signal: never(), deliveryId: 'other', attempt: 1 });
    expect(await action.run(payload(null), { signal: never(), deliveryId: 'again', attempt: 2 })).toEqual(
      first,
    );
    expect(fake.notes).toHaveLength(2);
  });

  it('a call without a start time is a permanent failure', async () => {
    const error = await bexio(fake.url)
      .run(payload(null, { startedTime: undefined, answeredTime: undefined }), {
        signal: never(),
        deliveryId: 'd3',
        attempt: 1,
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).permanent).toBe(true);
  });

  it('needs the bexio user, and a known time zone', () => {
    expect(bexioActionSchema.safeParse({ type: 'bexio', token: 'x' }).success).toBe(false);
    expect(
      bexioActionSchema.safeParse({ type: 'bexio', token: 'x', userId: 1, timeZone: 'Mars/Base' }).error
        ?.issues[0]?.message,
    ).toBe('must be an IANA time zone such as Europe/Zurich');
  });

  it('the example of docs/connectors/bexio.md is a valid configuration', () => {
    const config = configSchema.parse(YAML.parse(docExample('docs/connectors/bexio.md', 'type: bexio')));
    expect(config.tenants[0]!.workflows['CallFlow']!.actions[0]).toMatchObject({ type: 'bexio', userId: 1 });
  });
});
