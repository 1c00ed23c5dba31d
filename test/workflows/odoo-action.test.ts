import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { configSchema } from '../../src/config/schema.js';
import { createOdooAction, odooActionSchema, odooMark } from '../../src/workflows/actions/odoo.js';
import { DeliveryError } from '../../src/workflows/actions/types.js';
import { ODOO_DB, ODOO_KEY, ODOO_LOGIN, type OdooFake, startOdooFake } from '../sources/vendors/odoo-fake.js';
import { docExample } from '../support/helper.js';
import { actionContract, PAYLOAD } from './action-contract.js';

// Odoo is not reachable from the tests: the fake follows Odoo's published External JSON-2 API and
// External RPC API references, and checks the messages and activities the action makes against the
// extract of them in odoo.schema.json.

const env = { ODOO_API_KEY: ODOO_KEY };

const odoo = (url: string, settings: Record<string, unknown> = {}) =>
  createOdooAction(
    odooActionSchema.parse({
      type: 'odoo',
      url,
      apiKeyEnv: 'ODOO_API_KEY',
      source: 'odoo',
      unknownCallerPartnerId: 1,
      ...settings,
    }),
    { baseDir: process.cwd() },
    { env },
  );

const withPartners = (fake: OdooFake) => {
  fake.partner({ id: 1, name: 'Unknown callers', is_company: true });
  fake.partner({ id: 11, name: 'Anna Müller', is_company: false, phone: '030 1234567' });
  return fake;
};

actionContract(
  'odoo',
  async () => {
    const fake = withPartners(await startOdooFake());
    return {
      action: odoo(fake.url),
      records: async () => fake.models['mail.message']!.length,
      at: (port, timeoutMs) => odoo(`http://127.0.0.1:${port}`, timeoutMs ? { timeoutMs } : {}),
      async refused() {
        fake.fail({
          status: 403,
          body: { name: 'odoo.exceptions.AccessError', message: 'not allowed', arguments: [], context: {} },
        });
        return odoo(fake.url);
      },
      async redirect() {
        fake.fail({ status: 307, headers: { location: `${fake.url}/elsewhere` } });
        return odoo(fake.url);
      },
      async teardown() {
        expect(fake.violations).toEqual([]);
        await fake.close();
      },
    };
  },
  {
    skip: {
      'a 401 renews the credentials once and the delivery is made':
        "Odoo's API keys are fixed: there is no token to renew, a refused key fails the delivery",
    },
  },
);

describe('odoo action', () => {
  let fake: OdooFake;
  const never = () => new AbortController().signal;
  beforeEach(async () => {
    fake = withPartners(await startOdooFake());
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
  const run = (action: ReturnType<typeof odoo>, contact: unknown, deliveryId: string, call = {}) =>
    action.run(payload(contact, call), { signal: never(), deliveryId, attempt: 1 });

  it('posts a note on the partner the odoo source found, by the JSON-2 API with the key', async () => {
    const result = await run(
      odoo(fake.url),
      { id: '11', name: 'Anna Müller', source: 'odoo' },
      'CallFlow:c1:0',
    );
    const [message] = fake.models['mail.message']!;
    expect(result).toEqual({ id: String(message!.id) });
    expect(message).toMatchObject({
      model: 'res.partner',
      res_id: 11,
      message_type: 'comment',
      subtype_xmlid: 'mail.mt_note',
      body:
        '<p>Incoming call from Anna Müller</p><p>From: 41215522000</p><p>At: 2026-11-26 10:00:00 UTC</p>' +
        `<p>Answered, 120 s</p><p>${odooMark('CallFlow:c1:0')}</p>`,
    });
    expect(fake.requests.map((request) => request.url.pathname)).toEqual([
      '/json/2/mail.message/search_read',
      '/json/2/res.partner/message_post',
    ]);
    expect(fake.requests.every((request) => /^bearer /i.test(String(request.headers.authorization)))).toBe(
      true,
    );
  });

  it('the same delivery twice gives one note: the second finds it by its mark', async () => {
    const action = odoo(fake.url);
    const first = await run(action, null, 'again');
    const second = await run(action, null, 'again');
    expect(second).toEqual(first);
    expect(fake.models['mail.message']).toHaveLength(1);
    expect(fake.models['mail.message']![0]).toMatchObject({ res_id: 1 });
  });

  it('log: activity plans a phone-call activity once, found again by its mark', async () => {
    const action = odoo(fake.url, { log: 'activity' });
    const contact = { id: '11', name: 'Anna Müller', source: 'odoo' };
    const first = await run(action, contact, 'act-1', { direction: 'outgoing', status: 'missed' });
    const second = await run(action, contact, 'act-1', { direction: 'outgoing', status: 'missed' });
    expect(second).toEqual(first);
    expect(fake.models['mail.activity']).toHaveLength(1);
    expect(fake.models['mail.activity']![0]).toMatchObject({
      res_model_id: 80,
      res_id: 11,
      activity_type_id: 2,
      summary: 'Outgoing call to Anna Müller',
      date_deadline: '2026-11-26',
    });
    expect(String(fake.models['mail.activity']![0]!['note'])).toContain('<p>Not answered</p>');
    expect(fake.models['mail.message']).toHaveLength(0);
  });

  it('speaks JSON-RPC to older versions: login once, then execute_kw', async () => {
    const action = odoo(fake.url, { api: 'jsonrpc', database: ODOO_DB, login: ODOO_LOGIN });
    await run(action, null, 'rpc-1');
    await run(action, null, 'rpc-2');
    expect(fake.models['mail.message']).toHaveLength(2);
    const methods = fake.requests.map(
      (request) => (request.body as { params: { method: string } }).params.method,
    );
    expect(methods).toEqual(['login', 'execute_kw', 'execute_kw', 'execute_kw', 'execute_kw']);
  });

  it('a key Odoo refuses fails the delivery by its status; an error Odoo names fails it for good; neither quotes Odoo', async () => {
    const wrong = createOdooAction(
      odooActionSchema.parse({ type: 'odoo', url: fake.url, apiKey: 'wrong', unknownCallerPartnerId: 1 }),
      { baseDir: process.cwd() },
    );
    const refused = await run(wrong, null, 'k1').catch((error: unknown) => error);
    // As for every action with a fixed key: a 401 is told by its status (the key may be rotated meanwhile).
    expect(refused).toBeInstanceOf(DeliveryError);
    expect((refused as Error).message).toMatch(/401/);
    expect((refused as Error).message).not.toMatch(/Invalid apikey|Traceback/);
    const missing = await run(
      odoo(fake.url, { api: 'jsonrpc', database: ODOO_DB, login: ODOO_LOGIN, unknownCallerPartnerId: 999 }),
      null,
      'k2',
    ).catch((error: unknown) => error);
    expect((missing as DeliveryError).permanent).toBe(true);
    expect((missing as Error).message).toMatch(/Odoo refused it \(odoo\.exceptions\.MissingError\)/);
    expect((missing as Error).message).not.toMatch(/Traceback/);
  });

  it('a call of no Odoo contact without an unknown callers partner is not logged', async () => {
    expect(await run(odoo(fake.url, { unknownCallerPartnerId: undefined }), null, 'n1')).toEqual({});
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses a config without the key, JSON-RPC without database and login, and unknown settings', () => {
    expect(odooActionSchema.safeParse({ type: 'odoo', url: fake.url }).success).toBe(false);
    const rpc = odooActionSchema.safeParse({ type: 'odoo', url: fake.url, apiKey: 'k', api: 'jsonrpc' });
    expect(rpc.error?.issues.map((issue) => issue.path.join('.')).sort()).toEqual(['database', 'login']);
    expect(odooActionSchema.safeParse({ type: 'odoo', url: fake.url, apiKey: 'k', logg: 'x' }).success).toBe(
      false,
    );
  });

  it('the example of docs/connectors/odoo.md is a valid configuration', () => {
    const config = configSchema.parse(YAML.parse(docExample('docs/connectors/odoo.md', 'type: odoo')));
    const actions = JSON.stringify(config.tenants[0]);
    expect(actions).toContain('"type":"odoo"');
    expect(actions).toContain('"log":"message"');
  });
});
