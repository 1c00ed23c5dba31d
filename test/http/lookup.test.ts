import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH, build, type TestService } from '../support/helper.js';

const CSV = `id,name,company,contact_uri,company_uri,phone,mobile,email,language,country
c1,Alexa Holiday,White Cross Co,https://crm.example/c/1,https://crm.example/a/9,+41 21 552 20 00,079 123 45 67,alexa@example.com,fr,
c2,Hans Muster,Muster AG,,,+49 (0)89 1234567,,,,DE
c3,Second Alexa,,,,079 999 88 77,021 552 20 00,,,
`;

describe('POST /Lookup', () => {
  let service: TestService;
  const lookup = (body: unknown, headers: Record<string, string> = AUTH) =>
    service.app.inject({ method: 'POST', url: '/Lookup', headers, payload: body as object });

  beforeAll(async () => {
    service = await build();
    await service.importCsv(CSV);
  });
  afterAll(() => service.close());

  it('answers a hit with the contact card in camelCase, absent values omitted', async () => {
    const response = await lookup({ inputs: { phoneNumber: '41795551234' } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual([]);
    const hit = await lookup({ inputs: { phoneNumber: '41791234567' } });
    expect(hit.statusCode).toBe(200);
    expect(hit.headers['content-type']).toMatch(/application\/json/);
    expect(hit.json()).toEqual([
      {
        name: 'Alexa Holiday',
        company: 'White Cross Co',
        contactUri: 'https://crm.example/c/1',
        companyUri: 'https://crm.example/a/9',
        id: 'c1',
        crmName: 'callcard',
        crmLogo: 'http://localhost:80/logo.svg',
        crmActions: ['CallFlow'],
        customData: { email: 'alexa@example.com', language: 'fr' },
      },
    ]);
  });

  it('omits fields the contact does not have, never null', async () => {
    const [contact] = (await lookup({ inputs: { phoneNumber: '49891234567' } })).json();
    expect(contact).toEqual({
      name: 'Hans Muster',
      company: 'Muster AG',
      id: 'c2',
      crmName: 'callcard',
      crmLogo: 'http://localhost:80/logo.svg',
      crmActions: ['CallFlow'],
    });
  });

  it('puts the contact whose main number matched before one where it is a second number', async () => {
    const ids = (await lookup({ inputs: { phoneNumber: '41215522000' } }))
      .json()
      .map((c: { id: string }) => c.id);
    expect(ids).toEqual(['c1', 'c3']);
  });

  it.each([
    ['international digits', '41215522000'],
    ['with +', '+41215522000'],
    ['with 00', '0041215522000'],
    ['national form', '0215522000'],
    ['formatted', '+41 21 552 20 00'],
  ])('finds the same contact for the number in %s', async (_label, phoneNumber) => {
    const ids = (await lookup({ inputs: { phoneNumber } })).json().map((c: { id: string }) => c.id);
    expect(ids[0]).toBe('c1');
  });

  it('does not match the same digits in another country', async () => {
    expect((await lookup({ inputs: { phoneNumber: '33215522000' } })).json()).toEqual([]);
  });

  it.each([
    ['empty', ''],
    ['withheld', 'anonymous'],
    ['digit-less', 'unknown caller'],
    ['missing', undefined],
    ['null', null],
  ])('answers 200 [] for an %s number', async (_label, phoneNumber) => {
    const response = await lookup({ inputs: { phoneNumber } });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual([]);
  });

  it('reads the request case-insensitively and ignores unknown fields', async () => {
    const response = await lookup({ Inputs: { PhoneNumber: '41791234567', extra: 1 }, other: true });
    expect(response.statusCode).toBe(200);
    expect(response.json()[0].id).toBe('c1');
  });

  it('accepts the number as a JSON number', async () => {
    expect((await lookup({ inputs: { phoneNumber: 41791234567 } })).json()[0].id).toBe('c1');
  });

  it('serves the older query-parameter form on GET and POST', async () => {
    const get = await service.app.inject({
      method: 'GET',
      url: '/Lookup?PhoneNumber=41791234567',
      headers: AUTH,
    });
    expect(get.statusCode).toBe(200);
    expect(get.json()[0].id).toBe('c1');
    const post = await service.app.inject({
      method: 'POST',
      url: '/Lookup?phonenumber=41791234567',
      headers: AUTH,
    });
    expect(post.statusCode).toBe(200);
    expect(post.json()[0].id).toBe('c1');
  });

  it('works without a Content-Type header, with text/plain, and with one that names no media type', async () => {
    for (const type of [undefined, 'text/plain', '', ';', 'json']) {
      const response = await service.app.inject({
        method: 'POST',
        url: '/Lookup',
        headers: type === undefined ? AUTH : { ...AUTH, 'content-type': type },
        payload: '{"inputs":{"phoneNumber":"41791234567"}}',
      });
      expect(response.statusCode).toBe(200);
      expect(response.json()[0].id).toBe('c1');
    }
  });

  it('matches the path case-insensitively', async () => {
    const response = await service.app.inject({
      method: 'POST',
      url: '/lookup',
      headers: AUTH,
      payload: { inputs: { phoneNumber: '41791234567' } },
    });
    expect(response.statusCode).toBe(200);
  });

  describe('bad input is a 4xx with a JSON error, never a 5xx', () => {
    const cases: [string, string | undefined, string | undefined, number, string][] = [
      ['malformed JSON', '{"inputs": {', 'application/json', 400, 'INVALID_JSON'],
      ['a JSON array', '[1,2]', 'application/json', 400, 'MISSING_INPUTS'],
      ['no inputs', '{"phoneNumber":"41215522000"}', 'application/json', 400, 'MISSING_INPUTS'],
      ['inputs not an object', '{"inputs":"41215522000"}', 'application/json', 400, 'INVALID_INPUT'],
      [
        'phoneNumber an object',
        '{"inputs":{"phoneNumber":{"a":1}}}',
        'application/json',
        400,
        'INVALID_INPUT',
      ],
      ['an empty body', '', 'application/json', 400, 'MISSING_INPUTS'],
      ['a JSON string', '"hello"', 'application/json', 400, 'MISSING_INPUTS'],
    ];
    it.each(cases)('%s', async (_label, payload, type, status, code) => {
      const response = await service.app.inject({
        method: 'POST',
        url: '/Lookup',
        headers: type ? { ...AUTH, 'content-type': type } : AUTH,
        ...(payload !== undefined && { payload }),
      });
      expect(response.statusCode).toBe(status);
      const body = response.json();
      expect(body.error.code).toBe(code);
      expect(typeof body.error.message).toBe('string');
      expect(response.body).not.toMatch(/at .*\.(js|ts):\d+/);
    });

    it('413 for a body over 64 KiB', async () => {
      const payload = JSON.stringify({ inputs: { phoneNumber: '41215522000', pad: 'x'.repeat(70_000) } });
      const response = await service.app.inject({
        method: 'POST',
        url: '/Lookup',
        headers: { ...AUTH, 'content-type': 'application/json' },
        payload,
      });
      expect(response.statusCode).toBe(413);
      expect(response.json().error.code).toBe('BODY_TOO_LARGE');
    });

    it('ignores __proto__ in the body', async () => {
      const response = await service.app.inject({
        method: 'POST',
        url: '/Lookup',
        headers: { ...AUTH, 'content-type': 'application/json' },
        payload: '{"__proto__":{"polluted":true},"inputs":{"phoneNumber":"41791234567"}}',
      });
      expect(response.statusCode).toBe(200);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    });
  });
});

describe('lookup settings', () => {
  it('caps the answer at maxResults', async () => {
    const service = await build({ maxResults: 2 });
    try {
      const rows = Array.from({ length: 4 }, (_, i) => `p${i},Person ${i},,021 552 20 00`);
      await service.importCsv(`id,name,company,phone\n${rows.join('\n')}\n`);
      const response = await service.app.inject({
        method: 'POST',
        url: '/Lookup',
        headers: AUTH,
        payload: { inputs: { phoneNumber: '41215522000' } },
      });
      expect(response.json()).toHaveLength(2);
    } finally {
      await service.close();
    }
  });

  it('serves under the base path, uses the configured names and public URL', async () => {
    const service = await build({
      basePath: '/services/phone/',
      publicUrl: 'https://lookup.example.ch',
      sources: [{ type: 'embedded', crmName: 'Address book', crmLogo: 'https://cdn.example/logo.png' }],
    });
    try {
      await service.importCsv('id,name,phone\nz1,Zora,021 552 20 00\n');
      const outside = await service.app.inject({
        method: 'POST',
        url: '/Lookup',
        headers: AUTH,
        payload: { inputs: { phoneNumber: '41215522000' } },
      });
      expect(outside.statusCode).toBe(404);
      const response = await service.app.inject({
        method: 'POST',
        url: '/services/phone/Lookup',
        headers: AUTH,
        payload: { inputs: { phoneNumber: '41215522000' } },
      });
      expect(response.json()).toEqual([
        {
          name: 'Zora',
          id: 'z1',
          crmName: 'Address book',
          crmLogo: 'https://cdn.example/logo.png',
          crmActions: ['CallFlow'],
        },
      ]);
      const flow = await service.app.inject({
        method: 'POST',
        url: '/services/phone/CallFlow',
        headers: AUTH,
        payload: { inputs: { direction: 'incoming', startedTime: '2026-01-05T10:00:00Z' } },
      });
      expect(flow.json().url).toMatch(/^https:\/\/lookup\.example\.ch\/services\/phone\/calls\/[\w-]{22}$/);
    } finally {
      await service.close();
    }
  });
});
