import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRestAction, restActionSchema } from '../../src/workflows/actions/rest.js';
import { DeliveryError } from '../../src/workflows/actions/types.js';

// A CRM with a contacts and a calls endpoint, answering `{id}` like most CRM APIs (HubSpot's
// objects API among them). Only what the action sends is checked here.
interface Seen {
  path: string;
  key: string | undefined;
  body: Record<string, unknown>;
}

describe('rest action: create the contact first', () => {
  let server: Server;
  let base: string;
  let seen: Seen[];
  let contactStatus: number;

  beforeEach(async () => {
    seen = [];
    contactStatus = 201;
    server = createServer(async (request, response) => {
      let text = '';
      for await (const chunk of request) text += chunk;
      const path = request.url ?? '';
      seen.push({
        path,
        key: request.headers['idempotency-key'] as string | undefined,
        body: JSON.parse(text),
      });
      const status = path === '/contacts' ? contactStatus : 201;
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(status < 300 ? JSON.stringify({ id: path === '/contacts' ? '901' : 'call-1' }) : '');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const action = () =>
    createRestAction(
      restActionSchema.parse({
        type: 'rest',
        baseUrl: base,
        createContact: {
          request: {
            url: '/contacts',
            body: { phone: '{call.originatorNumber}', name: '{call.originatorName}' },
          },
        },
        request: { url: '/calls', body: { contact: '{contact.id}', from: '{call.originatorNumber}' } },
      }),
      { baseDir: '.' },
    );
  const payload = (contact: Record<string, unknown> | null) => ({
    workflow: 'CallFlow',
    callId: 'abc',
    call: { originatorNumber: '41215522000', originatorName: 'New Caller', direction: 'incoming' },
    contact,
  });
  const context = { signal: new AbortController().signal, deliveryId: 'CallFlow:abc:0', attempt: 1 };

  it('creates the contact when the call has none, then logs the call linked to it', async () => {
    const result = await action().run(payload(null), context);
    expect(result).toEqual({ id: 'call-1' });
    expect(seen.map((s) => [s.path, s.key])).toEqual([
      ['/contacts', 'CallFlow:abc:0:contact'],
      ['/calls', 'CallFlow:abc:0'],
    ]);
    expect(seen[0]?.body).toEqual({ phone: '41215522000', name: 'New Caller' });
    expect(seen[1]?.body).toEqual({ contact: '901', from: '41215522000' });
  });

  it('does not create a contact when the call has one', async () => {
    await action().run(payload({ id: '42', name: 'Known' }), context);
    expect(seen.map((s) => s.path)).toEqual(['/calls']);
    expect(seen[0]?.body).toMatchObject({ contact: '42' });
  });

  it('a failed contact creation fails the attempt (retryable on 5xx) and sends no call', async () => {
    contactStatus = 503;
    const error = await action()
      .run(payload(null), context)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).permanent).toBe(false);
    expect(seen.map((s) => s.path)).toEqual(['/contacts']);
  });

  it('reports unknown variables in the contact request by path', () => {
    const parsed = restActionSchema.safeParse({
      type: 'rest',
      createContact: { request: { url: 'https://crm.example/contacts', body: { x: '{nope}' } } },
      request: { url: 'https://crm.example/calls', body: {} },
    });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['createContact', 'request', 'body', 'x']);
  });
});
