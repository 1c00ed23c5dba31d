import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRestAction, restActionSchema } from '../../src/workflows/actions/rest.js';
import type { TestService } from '../support/helper.js';
import { until } from '../support/outbox.js';
import { CALL_ID, callInputs, DELIVERY, deliveringService, failure, postCall } from '../support/workflows.js';

/**
 * A local stand-in for HubSpot's CRM v3 calls API, written from its published guide
 * (https://developers.hubspot.com/docs/api/crm/calls):
 *
 * `POST /crm/v3/objects/calls` takes `{properties: {hs_timestamp (required; ISO or epoch ms),
 * hs_call_title, hs_call_body, hs_call_direction (INBOUND|OUTBOUND), hs_call_status (COMPLETED,
 * NO_ANSWER...), hs_call_duration (ms), hs_call_from_number, hs_call_to_number}, associations:
 * [{to: {id}, types: [{associationCategory, associationTypeId}]}]}` and answers 201
 * `{id, properties (values as strings), createdAt, updatedAt, archived}`.
 *
 * Simplified: only the properties above are checked, and only their shape; association type ids are
 * not checked against the contact; errors are `{status: 'error', category, message}` without
 * HubSpot's correlation ids. HubSpot documents no idempotency key for this endpoint: the fake keeps
 * `Idempotency-Key` (as Stripe-style APIs do) to show that a retried delivery carries the same one.
 * The token endpoint is a generic OAuth2 client credentials grant (RFC 6749 section 4.4), not
 * HubSpot's own OAuth flow (authorization code with refresh tokens); a private app's static token
 * is a bearer token.
 */

const PRIVATE_APP_TOKEN = 'pat-eu1-test-0123456789abcdef';
const CLIENT = { id: 'callcard-client', secret: 'client-s3cret-for-test' };
const PORTAL = '1234567';

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
}

interface Received {
  method: string;
  path: string;
  url: URL;
  headers: IncomingMessage['headers'];
  text: string;
  body: unknown;
}

interface CallRecord {
  id: string;
  properties: Record<string, string>;
  associations: unknown;
}

const DIRECTIONS = ['INBOUND', 'OUTBOUND'];
const STATUSES = ['BUSY', 'CALLING_CRM_USER', 'CANCELED', 'COMPLETED', 'CONNECTING', 'FAILED', 'IN_PROGRESS'];
STATUSES.push('NO_ANSWER', 'QUEUED', 'RINGING');

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** What HubSpot would refuse with 400 VALIDATION_ERROR; undefined when the body is fine. */
function invalid(body: unknown): string | undefined {
  if (!isObject(body) || !isObject(body['properties'])) return 'properties is required';
  const p = body['properties'];
  const timestamp = p['hs_timestamp'];
  if (
    timestamp === undefined ||
    (Number.isNaN(Date.parse(String(timestamp))) && !/^\d+$/.test(String(timestamp)))
  )
    return 'hs_timestamp is required (ISO or epoch ms)';
  if (p['hs_call_direction'] !== undefined && !DIRECTIONS.includes(String(p['hs_call_direction'])))
    return 'hs_call_direction is not a valid option';
  if (p['hs_call_status'] !== undefined && !STATUSES.includes(String(p['hs_call_status'])))
    return 'hs_call_status is not a valid option';
  if (p['hs_call_duration'] !== undefined && !/^\d+$/.test(String(p['hs_call_duration'])))
    return 'hs_call_duration must be a number of milliseconds';
  const associations = body['associations'];
  if (associations !== undefined) {
    if (!Array.isArray(associations)) return 'associations must be a list';
    for (const item of associations) {
      if (!isObject(item) || !isObject(item['to']) || item['to']['id'] === undefined)
        return 'association without to.id';
      if (!Array.isArray(item['types']) || item['types'].length === 0) return 'association without types';
    }
  }
  return undefined;
}

function fakeHubSpot() {
  const received: Received[] = [];
  const records: CallRecord[] = [];
  const byKey = new Map<string, CallRecord>();
  const tokens = new Set<string>();
  let issued = 0;
  const scripted: Reply[] = [];

  const server: Server = createServer(async (request, response) => {
    let text = '';
    for await (const chunk of request) text += chunk;
    const url = new URL(request.url ?? '/', 'http://x');
    const path = url.pathname;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    received.push({ method: request.method ?? '', path, url, headers: request.headers, text, body });
    const send = async (reply: Reply) => {
      if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
      if (response.destroyed) return;
      response.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      response.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    };

    if (path === '/oauth/v1/token') {
      const basic = `Basic ${Buffer.from(`${CLIENT.id}:${CLIENT.secret}`).toString('base64')}`;
      const form = new URLSearchParams(text);
      if (request.headers.authorization !== basic || form.get('grant_type') !== 'client_credentials')
        return send({ status: 401, body: { error: 'invalid_client' } });
      const token = `oauth-token-${++issued}`;
      tokens.add(token);
      return send({ status: 200, body: { access_token: token, token_type: 'bearer', expires_in: 1800 } });
    }
    const bearer = request.headers.authorization?.replace(/^Bearer /, '');
    if (!bearer || (bearer !== PRIVATE_APP_TOKEN && !tokens.has(bearer))) {
      return send({
        status: 401,
        body: { status: 'error', category: 'INVALID_AUTHENTICATION', message: `bad token ${bearer}` },
      });
    }
    const next = scripted.shift();
    if (next) return send(next);
    const patched = /^\/crm\/v3\/objects\/calls\/(\d+)$/.exec(path);
    if (request.method === 'PATCH' && patched) {
      // Update a call: the properties sent replace those of the record (PATCH /crm/v3/objects/calls/{callId}).
      const found = records.find((r) => r.id === patched[1]);
      if (!found) return send({ status: 404, body: { status: 'error', category: 'OBJECT_NOT_FOUND' } });
      const sent = isObject(body) && isObject(body['properties']) ? body['properties'] : undefined;
      if (!sent) return send({ status: 400, body: { status: 'error', category: 'VALIDATION_ERROR' } });
      for (const [name, value] of Object.entries(sent)) found.properties[name] = String(value);
      return send({ status: 200, body: { id: found.id, properties: found.properties, archived: false } });
    }
    if (request.method !== 'POST' || path !== '/crm/v3/objects/calls') return send({ status: 404 });
    const problem = invalid(body);
    if (problem)
      return send({ status: 400, body: { status: 'error', category: 'VALIDATION_ERROR', message: problem } });
    const key = request.headers['idempotency-key'] as string | undefined;
    let record = key ? byKey.get(key) : undefined;
    if (!record) {
      const sent = (body as { properties: Record<string, unknown>; associations?: unknown }).properties;
      const id = String(51_000_000 + records.length + 1);
      const properties = Object.fromEntries(
        Object.entries(sent).map(([name, value]) => [name, String(value)]),
      );
      record = {
        id,
        properties: { ...properties, hs_object_id: id },
        associations: (body as never)['associations'],
      };
      records.push(record);
      if (key) byKey.set(key, record);
    }
    const now = new Date().toISOString();
    return send({
      status: 201,
      body: { id: record.id, properties: record.properties, createdAt: now, updatedAt: now, archived: false },
    });
  });

  return {
    received,
    records,
    /** Requests to the calls endpoint (token requests left out). */
    calls: () => received.filter((r) => r.path === '/crm/v3/objects/calls'),
    tokensIssued: () => issued,
    revokeTokens: () => tokens.clear(),
    /** The next answers to authenticated requests, whatever their method and path. */
    script: (...replies: Reply[]) => scripted.push(...replies),
    async start(): Promise<string> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The HubSpot call logging config of docs/workflows.md, against the fake. */
function hubspotConfig(baseUrl: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'rest',
    baseUrl,
    auth: { type: 'bearer', token: PRIVATE_APP_TOKEN },
    values: {
      direction: { from: 'call.direction', map: { incoming: 'INBOUND', outgoing: 'OUTBOUND' } },
      outcome: { from: 'call.status', map: { answered: 'COMPLETED', missed: 'NO_ANSWER' } },
    },
    request: {
      url: '/crm/v3/objects/calls',
      body: {
        properties: {
          hs_timestamp: '{call.startedAtIso}',
          hs_call_title: 'Call with {contact.name}',
          hs_call_direction: '{direction}',
          hs_call_status: '{outcome}',
          hs_call_duration: '{call.durationMs}',
          hs_call_from_number: '{call.originatorNumber}',
          hs_call_to_number: '{call.destinationNumber}',
          hs_call_body: 'Queue: {call.queue}',
        },
        associations: [
          {
            to: { id: '{contact.id}' },
            types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 194 }],
          },
        ],
      },
    },
    response: { id: 'id', url: `https://app.hubspot.com/contacts/${PORTAL}/record/0-48/{id}` },
    ...extra,
  };
}

/** The payload `createWorkflow` gives its actions. */
function payload(call: Record<string, unknown> = {}, contact: Record<string, unknown> | null = CONTACT) {
  return {
    workflow: 'CallFlow',
    callId: CALL_ID,
    call: {
      contactCrmId: '901',
      originatorNumber: '41215522000',
      destinationNumber: '41445556677',
      direction: 'incoming',
      startedTime: '2026-11-26T11:00:00+01:00',
      answeredTime: '2026-11-26T11:00:05+01:00',
      endedTime: '2026-11-26T11:02:10+01:00',
      queue: 'Support',
      id: CALL_ID,
      workflow: 'CallFlow',
      status: 'answered',
      durationSeconds: 125,
      ...call,
    },
    contact,
  };
}

const CONTACT = {
  id: '901',
  name: 'Alexa "Lex" Holiday \\ Sons',
  company: 'White Cross Co',
  source: 'hubspot',
  crmName: 'HubSpot',
};

const context = (attempt = 1) => ({ signal: new AbortController().signal, deliveryId: DELIVERY, attempt });

function action(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) {
  return createRestAction(restActionSchema.parse(config), { baseDir: process.cwd() }, { env });
}

describe('rest action: request and answer', () => {
  let crm: ReturnType<typeof fakeHubSpot>;
  afterEach(async () => {
    await crm?.close();
  });

  it('renders the HubSpot body: types kept, values translated, time in UTC, the contact associated', async () => {
    crm = fakeHubSpot();
    const url = await crm.start();
    const result = await action(hubspotConfig(url)).run(payload(), context());

    const [sent] = crm.calls();
    expect(sent?.body).toEqual({
      properties: {
        hs_timestamp: '2026-11-26T10:00:00.000Z',
        hs_call_title: 'Call with Alexa "Lex" Holiday \\ Sons',
        hs_call_direction: 'INBOUND',
        hs_call_status: 'COMPLETED',
        hs_call_duration: 125_000, // one variable: a number stays a number
        hs_call_from_number: '41215522000',
        hs_call_to_number: '41445556677',
        hs_call_body: 'Queue: Support', // a field the CONNECTOR added, passed on
      },
      associations: [
        { to: { id: '901' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 194 }] },
      ],
    });
    expect(sent?.headers).toMatchObject({
      authorization: `Bearer ${PRIVATE_APP_TOKEN}`,
      'content-type': 'application/json',
      accept: 'application/json',
      'idempotency-key': DELIVERY,
    });
    const [record] = crm.records;
    expect(result).toEqual({
      id: record!.id,
      url: `https://app.hubspot.com/contacts/${PORTAL}/record/0-48/${record!.id}`,
    });
  });

  it('a JSON text body: values are JSON-escaped, a variable outside quotes gives a number', async () => {
    crm = fakeHubSpot();
    const url = await crm.start();
    const body =
      '{"properties": {"hs_timestamp": "{call.startedAtMs}", "hs_call_title": "Call with {contact.name}",' +
      ' "hs_call_duration": {call.durationMs}, "hs_call_body": "{call.note}"}}';
    const note = 'Line one\nsaid "call back" at 5\t\u00e9';
    await action(hubspotConfig(url, { request: { url: '/crm/v3/objects/calls', body } })).run(
      payload({ note }),
      context(),
    );
    const [sent] = crm.calls();
    expect(sent?.body).toEqual({
      properties: {
        hs_timestamp: String(Date.parse('2026-11-26T10:00:00Z')),
        hs_call_title: 'Call with Alexa "Lex" Holiday \\ Sons',
        hs_call_duration: 125_000,
        hs_call_body: note,
      },
    });
  });

  it('a missed call without a contact: what only uses the contact is left out, the association too', async () => {
    crm = fakeHubSpot();
    const url = await crm.start();
    const result = await action(hubspotConfig(url)).run(
      payload(
        { status: 'missed', durationSeconds: undefined, answeredTime: undefined, contactCrmId: undefined },
        null,
      ),
      context(),
    );
    const [sent] = crm.calls();
    expect(sent?.body).toEqual({
      properties: {
        hs_timestamp: '2026-11-26T10:00:00.000Z',
        hs_call_direction: 'INBOUND',
        hs_call_status: 'NO_ANSWER',
        hs_call_from_number: '41215522000',
        hs_call_to_number: '41445556677',
        hs_call_body: 'Queue: Support',
      },
    });
    expect(result.id).toBe(crm.records[0]?.id);
  });

  it('PUT or PATCH to a URL made of the call; the answer read at paths', async () => {
    crm = fakeHubSpot();
    const url = await crm.start();
    crm.script({
      status: 200,
      body: { data: { ticket: { number: 'T-77', links: { self: 'https://crm.example/tickets/T-77' } } } },
    });
    const result = await action(
      hubspotConfig(url, {
        request: {
          method: 'patch',
          url: '/crm/v3/objects/calls?ref={callId}',
          query: { contact: '{contact.id}', after: '{call.nothing}' },
          headers: { 'X-Call-Direction': '{call.direction}' },
          body: { duration: '{call.durationMinutes}', title: '{workflow} {call.startedAtIso}' },
        },
        response: { id: 'data.ticket.number', url: 'data.ticket.links.self' },
      }),
    ).run(payload(), context());
    expect(result).toEqual({ id: 'T-77', url: 'https://crm.example/tickets/T-77' });
    const [sent] = crm.received;
    expect(sent?.method).toBe('PATCH');
    expect(sent?.path).toBe('/crm/v3/objects/calls');
    // A query parameter whose variables have no value is left out.
    expect([...sent!.url.searchParams]).toEqual([
      ['ref', CALL_ID],
      ['contact', '901'],
    ]);
    expect(sent?.headers['x-call-direction']).toBe('incoming');
    // 125 s in whole minutes, rounded up; a number, as the only variable of its field.
    expect(sent?.body).toEqual({ duration: 3, title: 'CallFlow 2026-11-26T10:00:00.000Z' });
  });

  it('an answer it cannot read is still a success (the record exists): no id, no url', async () => {
    crm = fakeHubSpot();
    const url = await crm.start();
    crm.script({ status: 204 });
    expect(await action(hubspotConfig(url)).run(payload(), context())).toEqual({});
  });
});

describe('rest action: failures', () => {
  let crm: ReturnType<typeof fakeHubSpot>;
  afterEach(async () => {
    await crm?.close();
  });

  const cases: { reply: Reply; permanent: boolean; retryAfterMs?: number; message: string }[] = [
    {
      reply: { status: 503, headers: { 'retry-after': '7' } },
      permanent: false,
      retryAfterMs: 7000,
      message: 'HTTP 503 Service Unavailable',
    },
    {
      reply: { status: 429, body: { status: 'error', category: 'RATE_LIMITS' } },
      permanent: false,
      message: 'HTTP 429',
    },
    { reply: { status: 408 }, permanent: false, message: 'HTTP 408 Request Timeout' },
    { reply: { status: 500 }, permanent: false, message: 'HTTP 500 Internal Server Error' },
    {
      reply: { status: 400, body: { category: 'VALIDATION_ERROR' } },
      permanent: true,
      message: 'HTTP 400 Bad Request',
    },
    { reply: { status: 404 }, permanent: true, message: 'HTTP 404 Not Found' },
    { reply: { status: 409 }, permanent: true, message: 'HTTP 409 Conflict' },
    {
      reply: { status: 301, headers: { location: 'https://elsewhere.example/calls' } },
      permanent: true,
      message: 'redirects are not followed',
    },
  ];

  for (const { reply, permanent, retryAfterMs, message } of cases) {
    it(`HTTP ${reply.status}: ${permanent ? 'permanent' : 'tried again'}`, async () => {
      crm = fakeHubSpot();
      const url = await crm.start();
      crm.script(reply);
      const error = await failure(action(hubspotConfig(url)).run(payload(), context()));
      expect(error.permanent).toBe(permanent);
      expect(error.retryAfterMs).toBe(retryAfterMs);
      expect(error.message).toContain('rest action (POST /crm/v3/objects/calls): ');
      expect(error.message).toContain(message);
      expect(error.message).not.toContain(PRIVATE_APP_TOKEN);
      expect(crm.calls()).toHaveLength(1);
    });
  }

  it('Retry-After as an HTTP date', async () => {
    crm = fakeHubSpot();
    const url = await crm.start();
    crm.script({ status: 429, headers: { 'retry-after': new Date(Date.now() + 30_000).toUTCString() } });
    const error = await failure(action(hubspotConfig(url)).run(payload(), context()));
    expect(error.permanent).toBe(false);
    expect(error.retryAfterMs).toBeGreaterThan(27_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
  });

  it('a target that is down, or that does not answer in time, is tried again', async () => {
    crm = fakeHubSpot();
    const url = await crm.start();
    await crm.close();
    const down = await failure(action(hubspotConfig(url)).run(payload(), context()));
    expect(down.permanent).toBe(false);
    expect(down.message).toBe('rest action (POST /crm/v3/objects/calls): connection failed (ECONNREFUSED)');

    crm = fakeHubSpot();
    const slow = await crm.start();
    crm.script({ status: 201, body: { id: '1' }, delayMs: 1000 });
    const late = await failure(action(hubspotConfig(slow, { timeoutMs: 150 })).run(payload(), context()));
    expect(late.permanent).toBe(false);
    expect(late.message).toBe('rest action (POST /crm/v3/objects/calls): no answer within 150 ms');
  });

  it('a request the templates cannot make for this call is permanent, and nothing is sent', async () => {
    crm = fakeHubSpot();
    const url = await crm.start();
    const missingId = action(
      hubspotConfig(url, { request: { url: '/crm/v3/objects/contacts/{contact.id}/notes', body: {} } }),
    );
    const noContact = await failure(missingId.run(payload({}, null), context()));
    expect(noContact.permanent).toBe(true);
    expect(noContact.message).toContain('the URL needs {contact.id}, which this call has no value for');

    const text = action(
      hubspotConfig(url, {
        request: { url: '/crm/v3/objects/calls', body: '{"duration": {call.durationMs}}' },
      }),
    );
    const badJson = await failure(text.run(payload({ durationSeconds: undefined }), context()));
    expect(badJson.permanent).toBe(true);
    expect(badJson.message).toContain('does not give valid JSON');
    expect(crm.received).toHaveLength(0);
  });
});

describe('rest action: idempotency and auth', () => {
  let crm: ReturnType<typeof fakeHubSpot>;
  afterEach(async () => {
    await crm?.close();
  });

  it('every attempt of a delivery sends the same Idempotency-Key: a retry is the same record', async () => {
    crm = fakeHubSpot();
    const url = await crm.start();
    const rest = action(hubspotConfig(url));
    crm.script({ status: 502 });
    await failure(rest.run(payload(), context(1)));
    const second = await rest.run(payload(), context(2));
    // A third attempt, as after a crash between the target's answer and the outbox's note of it.
    const third = await rest.run(payload(), context(3));
    expect(crm.calls().map((r) => r.headers['idempotency-key'])).toEqual([DELIVERY, DELIVERY, DELIVERY]);
    expect(crm.records).toHaveLength(1);
    expect(third).toEqual(second);
    // Another call's delivery is another key, another record.
    await rest.run(payload(), { ...context(), deliveryId: 'CallFlow:other:0' });
    expect(crm.records).toHaveLength(2);
  });

  it('a static bearer token that is refused is not asked again in the attempt, and tried later', async () => {
    crm = fakeHubSpot();
    const url = await crm.start();
    const wrong = 'pat-eu1-revoked-token';
    const error = await failure(
      action(hubspotConfig(url, { auth: { type: 'bearer', tokenEnv: 'HUBSPOT_TOKEN' } }), {
        HUBSPOT_TOKEN: wrong,
      }).run(payload(), context()),
    );
    expect(error.message).toBe('rest action (POST /crm/v3/objects/calls): HTTP 401 Unauthorized');
    expect(error.permanent).toBe(false);
    expect(error.message).not.toContain(wrong);
    expect(crm.calls()).toHaveLength(1);
  });

  it('OAuth2: a token is asked once and shared; on a 401 it is renewed and the request sent again', async () => {
    crm = fakeHubSpot();
    const url = await crm.start();
    const rest = action(
      hubspotConfig(url, {
        auth: {
          type: 'oauth2',
          tokenUrl: `${url}/oauth/v1/token`,
          clientId: CLIENT.id,
          clientSecretEnv: 'CRM_CLIENT_SECRET',
          scope: 'crm.objects.contacts.write',
        },
      }),
      { CRM_CLIENT_SECRET: CLIENT.secret },
    );
    await rest.run(payload(), context());
    await rest.run(payload(), { ...context(), deliveryId: 'CallFlow:second:0' });
    expect(crm.tokensIssued()).toBe(1);
    expect(crm.calls().map((r) => r.headers.authorization)).toEqual([
      'Bearer oauth-token-1',
      'Bearer oauth-token-1',
    ]);

    crm.revokeTokens();
    const result = await rest.run(payload(), { ...context(), deliveryId: 'CallFlow:third:0' });
    expect(result.id).toBe(crm.records[2]?.id);
    expect(crm.tokensIssued()).toBe(2);
    expect(
      crm
        .calls()
        .slice(2)
        .map((r) => r.headers.authorization),
    ).toEqual(['Bearer oauth-token-1', 'Bearer oauth-token-2']);
  });

  it('OAuth2: a client the token endpoint refuses fails the attempt with its error code, not the secret', async () => {
    crm = fakeHubSpot();
    const url = await crm.start();
    const wrong = 'wrong-s3cret-for-test';
    const error = await failure(
      action(
        hubspotConfig(url, {
          auth: {
            type: 'oauth2',
            tokenUrl: `${url}/oauth/v1/token`,
            clientId: CLIENT.id,
            clientSecret: wrong,
          },
        }),
      ).run(payload(), context()),
    );
    // Asking again with the same client cannot help: dead at once, the reason in `callcard outbox`.
    expect(error.permanent).toBe(true);
    expect(error.message).toBe(
      'rest action (POST /crm/v3/objects/calls): OAuth2 token request failed: HTTP 401 Unauthorized (invalid_client)',
    );
    expect(crm.calls()).toHaveLength(0);
  });
});

describe('rest action: configuration', () => {
  const base = hubspotConfig('https://api.hubapi.com');
  const messages = (config: unknown) => {
    const result = restActionSchema.safeParse(config);
    return result.success
      ? []
      : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  it('knows the call fields (open-ended), the contact fields, the delivery and its own values', () => {
    expect(messages(base)).toEqual([]);
    const body = {
      a: '{call.someFutureField} {call.extra.nested}',
      b: '{contact.customData.E-mail} {contact.crmName}',
      c: '{callId} {deliveryId} {workflow}',
    };
    expect(messages({ ...base, request: { url: '/x', body } })).toEqual([]);
  });

  it('an unknown variable is an error that says where and what is known', () => {
    const body = { properties: { hs_call_title: '{contact.email}', other: ['{e164}'] } };
    const found = messages({
      ...base,
      request: { url: '/x/{nope}', headers: { 'X-A': '{status}' }, body },
    });
    expect(found).toHaveLength(4);
    expect(found[0]).toMatch(/^request\.url: unknown variable \{nope\}: rest actions know \{callId\}/);
    expect(found[1]).toMatch(/^request\.headers\.X-A: unknown variable \{status\}/);
    expect(found[2]).toMatch(
      /^request\.body\.properties\.hs_call_title: unknown variable \{contact\.email\}/,
    );
    expect(found[3]).toMatch(/^request\.body\.properties\.other\.0: unknown variable \{e164\}/);
    expect(found[0]).toContain('{direction}, {outcome} (values)');
  });

  it('checks methods, values and the response', () => {
    expect(messages({ ...base, request: { ...base.request, method: 'GET' } })).toEqual([
      'request.method: must be one of POST, PUT, PATCH',
    ]);
    expect(
      messages({
        ...base,
        values: { callId: { from: 'call.x', map: {} }, d: { from: 'contact.phone', map: {} } },
      }),
    ).toEqual([
      expect.stringMatching(/^request\.body\.properties\.hs_call_direction: unknown variable \{direction\}/),
      expect.stringMatching(/^request\.body\.properties\.hs_call_status: unknown variable \{outcome\}/),
      'values.callId: "callId" is a name callcard gives itself',
      expect.stringMatching(/^values\.d\.from: unknown variable contact\.phone/),
    ]);
    expect(messages({ ...base, response: { url: 'https://crm/{a[}' } })[0]).toMatch(/^response\.url: /);
    expect(messages({ ...base, request: { url: '/x' } })[0]).toMatch(/^request\.body: /);
  });

  it('a relative URL needs baseUrl; a missing secret stops the start', () => {
    const { baseUrl: _, ...relative } = base;
    expect(() => action(relative)).toThrow(
      'rest action: request.url "/crm/v3/objects/calls" is relative: set baseUrl, or write the full URL',
    );
    expect(() => action({ ...base, auth: { type: 'bearer', tokenEnv: 'NOT_SET' } })).toThrow(
      'rest action: auth.tokenEnv: environment variable NOT_SET is not set',
    );
  });
});

describe('rest action through the workflow', () => {
  let crm: ReturnType<typeof fakeHubSpot>;
  let service: TestService;
  afterEach(async () => {
    await service?.close();
    await crm?.close();
  });

  const CALL = callInputs({ contactCrmId: 'c1', userCrmId: 'u7', queue: 'Support' });

  it("POST /CallFlow answers with the CRM record's URL; the same call again is the same record", async () => {
    crm = fakeHubSpot();
    const url = await crm.start();
    service = await deliveringService(
      {
        workflows: { CallFlow: { actions: [hubspotConfig(url) as never] } },
        delivery: { answerBudgetMs: 2000 },
      },
      'id,name,company,phone\nc1,"Alexa ""Lex"" Holiday",White Cross Co,021 552 20 00\n',
    );
    const post = () => postCall(service, CALL);

    const first = await post();
    expect(first.statusCode).toBe(200);
    const answer = first.json();
    const [record] = crm.records;
    expect(answer.url).toBe(`https://app.hubspot.com/contacts/${PORTAL}/record/0-48/${record!.id}`);
    // The target confirmed within the budget: its record's id is the answer's.
    expect(answer.id).toBe(record!.id);
    expect(record?.properties).toMatchObject({
      hs_timestamp: '2026-11-26T10:00:00.000Z',
      hs_call_title: 'Call with Alexa "Lex" Holiday',
      hs_call_direction: 'INBOUND',
      hs_call_status: 'COMPLETED',
      hs_call_duration: '120000',
      hs_call_body: 'Queue: Support',
    });
    expect(record?.associations).toEqual([
      { to: { id: 'c1' }, types: [{ associationCategory: 'HUBSPOT_DEFINED', associationTypeId: 194 }] },
    ]);
    expect(crm.calls()[0]?.headers['idempotency-key']).toMatch(/^CallFlow:[\w-]{22}:0$/);

    const again = await Promise.all([post(), post()]);
    expect(again.map((response) => response.json())).toEqual([answer, answer]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(crm.calls()).toHaveLength(1);
    expect(crm.records).toHaveLength(1);
  });

  it('a call completed after its record was made updates the record (PATCH at its id), once', async () => {
    crm = fakeHubSpot();
    const url = await crm.start();
    service = await deliveringService(
      {
        workflows: { CallFlow: { actions: [hubspotConfig(url) as never] } },
        delivery: { answerBudgetMs: 2000 },
      },
      'id,name,company,phone\nc1,Alexa Holiday,White Cross Co,021 552 20 00\n',
    );
    const ringing = { ...CALL, answeredTime: undefined, endedTime: undefined };
    const first = (await postCall(service, ringing)).json();
    const [record] = crm.records;
    expect(first.id).toBe(record!.id);
    expect(record!.properties).toMatchObject({ hs_call_status: 'NO_ANSWER' });
    expect(record!.properties['hs_call_duration']).toBeUndefined();

    const completed = (await postCall(service, CALL)).json();
    expect(completed).toEqual(first);
    await until(async () => (await service.store.outbox.counts()).done === 2, 10_000, 'the update');
    const patches = crm.received.filter((r) => r.method === 'PATCH');
    expect(patches.map((r) => [r.path, r.headers['idempotency-key']])).toEqual([
      [`/crm/v3/objects/calls/${record!.id}`, expect.stringMatching(/^CallFlow:[\w-]{22}:0:update:1$/)],
    ]);
    expect(crm.records).toHaveLength(1);
    expect(record!.properties).toMatchObject({ hs_call_status: 'COMPLETED', hs_call_duration: '120000' });

    // The same details again: no request.
    await postCall(service, CALL);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(crm.received.filter((r) => r.path !== '/oauth/v1/token')).toHaveLength(2);
  });

  it('update: false sends no update; an update request of its own uses {record.id}', () => {
    const none = createRestAction(
      restActionSchema.parse(hubspotConfig('https://api.hubapi.com', { update: false })),
      {
        baseDir: process.cwd(),
      },
    );
    expect(none.updates).toBe(false);
    const own = restActionSchema.safeParse(
      hubspotConfig('https://api.hubapi.com', {
        update: {
          request: {
            method: 'PUT',
            url: '/calls/{record.id}',
            body: { note: '{record.url} {record.other}' },
          },
        },
      }),
    );
    expect(own.success ? [] : own.error.issues.map((i) => i.path.join('.'))).toEqual([
      'update.request.body.note',
    ]);
    expect(
      restActionSchema.safeParse(
        hubspotConfig('https://x.example', { request: { url: '/c/{record.id}', body: {} } }),
      ).success,
    ).toBe(false);
  });
});
