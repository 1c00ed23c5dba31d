import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/**
 * Another team's phone lookup service, written from the API text, that can be broken on purpose
 * one point at a time. Without breakages it is correct, so each breakage shows in its point only.
 */

export const FAKE_TOKEN = 'fake-secret-token-4f1c9a77d2';
export const FAKE_HIT = '41215522000';

export interface Breakage {
  /** Answers without looking at the token. */
  noAuth?: boolean;
  /** 404 when nothing is found. */
  notFoundOnMiss?: boolean;
  /** id as a number, crmActions a string, customData an array, a relative contactUri. */
  wrongTypes?: boolean;
  /** Seven contacts for the hit. */
  tooMany?: boolean;
  /** Reads only the JSON body. */
  noLegacy?: boolean;
  /** Only `application/json` exactly; anything else is 415. */
  strictContentType?: boolean;
  /** Invalid JSON gives 500. */
  badJson500?: boolean;
  /** Invalid JSON gets no answer at all. */
  hangOnBadJson?: boolean;
  /** Missing or wrongly typed inputs give 500. */
  inputs500?: boolean;
  /** Every request gets no answer. */
  hangAlways?: boolean;
  /** Each lookup waits this long. */
  slowMs?: number;
  /** The workflow answers {id} only. */
  workflowNoUrl?: boolean;
  /** The workflow answers plain text. */
  workflowNotJson?: boolean;
  /** Each post of the workflow gets a new id. */
  workflowNewIds?: boolean;
  /** The workflow refuses fields it does not know. */
  workflowStrictFields?: boolean;
  /** Every request is redirected to https, as a proxy that upgrades plain HTTP does. */
  redirect?: boolean;
  /** Every request is refused with 429 and Retry-After. */
  rateLimited?: boolean;
  /** Error answers quote the token they were sent. */
  echoToken?: boolean;
}

const CONTACT = {
  name: 'Alexa Holiday',
  company: 'White Cross Co',
  contactUri: 'https://crm.example/contacts/1',
  companyUri: 'https://crm.example/accounts/9',
  id: 'c1',
  crmName: 'Fake CRM',
  crmLogo: 'https://crm.example/logo.png',
  crmActions: ['CallFlow'],
  customData: { 'E-mail': 'alexa@example.com' },
};

const CALL_FIELDS = new Set([
  'contactCrmId',
  'userCrmId',
  'originatorNumber',
  'originatorName',
  'destinationNumber',
  'destinationName',
  'direction',
  'startedTime',
  'answeredTime',
  'endedTime',
  'declinedTime',
]);

export interface FakeService {
  readonly url: string;
  /** Requests received, by path, for tests that check what the CONNECTOR side sent. */
  readonly received: { method: string; path: string; body: string; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export async function startFake(breakage: Breakage = {}): Promise<FakeService> {
  const received: FakeService['received'] = [];
  let counter = 0;
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(request.url ?? '/', 'http://fake');
    received.push({ method: request.method ?? '', path: url.pathname, body: text, headers: request.headers });
    if (breakage.hangAlways) return;
    if (breakage.redirect) {
      response.writeHead(301, { location: `https://lookup.example${url.pathname}` });
      return response.end();
    }
    if (breakage.rateLimited) {
      response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '30' });
      return response.end(JSON.stringify({ error: { message: 'too many requests' } }));
    }
    const token = request.headers['x-execution-token'];
    const error = (status: number, message: string) =>
      json(response, status, {
        error: { message: breakage.echoToken ? `${message} (token "${token ?? ''}")` : message },
      });
    if (!breakage.noAuth && token !== FAKE_TOKEN) return error(401, 'missing or wrong token');

    let body: unknown;
    if (text.trim() !== '') {
      if (breakage.strictContentType && request.headers['content-type'] !== 'application/json') {
        return error(415, 'send application/json');
      }
      try {
        body = JSON.parse(text);
      } catch {
        if (breakage.hangOnBadJson) return;
        return breakage.badJson500 ? error(500, 'internal error') : error(400, 'invalid JSON');
      }
    }
    const badInput = (message: string) =>
      breakage.inputs500 ? error(500, 'internal error') : error(400, message);

    if (url.pathname.toLowerCase() === '/lookup') {
      let number: unknown;
      if (body !== undefined) {
        if (!isObject(body) || body['inputs'] === undefined) return badInput('no inputs');
        if (!isObject(body['inputs'])) return badInput('inputs must be an object');
        number = body['inputs']['phoneNumber'];
        if (typeof number !== 'string') return badInput('inputs.phoneNumber must be a string');
      } else if (!breakage.noLegacy && url.searchParams.has('PhoneNumber')) {
        number = url.searchParams.get('PhoneNumber');
      } else return badInput('send {"inputs":{"phoneNumber":"..."}}');
      if (breakage.slowMs) await new Promise((done) => setTimeout(done, breakage.slowMs));
      if (number !== FAKE_HIT) {
        return breakage.notFoundOnMiss ? error(404, 'no contact') : json(response, 200, []);
      }
      let contact: Record<string, unknown> = CONTACT;
      if (breakage.wrongTypes) {
        contact = {
          ...CONTACT,
          id: 1,
          crmActions: 'CallFlow',
          customData: ['alexa@example.com'],
          contactUri: '/c/1',
        };
      }
      const contacts = breakage.tooMany
        ? Array.from({ length: 7 }, (_, i) => ({ ...contact, id: `c${i + 1}` }))
        : [contact];
      return json(response, 200, contacts);
    }

    if (request.method === 'POST' && url.pathname === '/CallFlow') {
      if (!isObject(body) || !isObject(body['inputs'])) return error(400, 'send {"inputs":{...}}');
      const inputs = body['inputs'];
      if (breakage.workflowStrictFields) {
        const unknown = Object.keys(inputs).filter((key) => !CALL_FIELDS.has(key));
        if (unknown.length > 0) return error(400, `unknown fields: ${unknown.join(', ')}`);
      }
      const id = breakage.workflowNewIds
        ? `call-${++counter}`
        : createHash('sha256')
            .update(`${inputs['originatorNumber']}|${inputs['direction']}|${inputs['startedTime']}`)
            .digest('hex')
            .slice(0, 16);
      if (breakage.workflowNotJson) {
        response.writeHead(200, { 'content-type': 'text/plain' });
        return response.end('OK');
      }
      return json(
        response,
        200,
        breakage.workflowNoUrl ? { id } : { id, url: `https://crm.example/calls/${id}` },
      );
    }
    return error(404, 'not found');
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => {
      response.statusCode = 500;
      response.end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    received,
    close: () =>
      new Promise<void>((done) => {
        // Hanging requests would keep the server open for ever.
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
