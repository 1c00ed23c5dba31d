import { unescape as unescapeQuery } from 'node:querystring';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_TEXT_FIELDS, CALL_TIME_FIELDS } from '../../src/connector/wire.js';
import { ErrorCodes } from '../../src/errors.js';
import { incomingKey } from '../../src/phone/index.js';
import { AUTH, build, type TestService, TOKEN } from '../support/helper.js';

// Property-based checks of the HTTP API: random requests of every kind must get a JSON answer of a
// documented shape, never a 5xx, never another contact's data, and never leave the service broken.

interface Phone {
  readonly raw: string;
  /** The match key, written out by hand. */
  readonly key: string;
  /** Country code, empty for a short internal number. */
  readonly cc: string;
  /** Significant digits: what any written form of the number contains. */
  readonly nsn: string;
}

interface Person {
  readonly id: string;
  readonly name: string;
  readonly company: string;
  readonly email: string;
  readonly country: string;
  readonly phones: readonly Phone[];
}

// Not the API's sample number, which the service's front page shows.
const IDA_MAIN: Phone = { raw: '+41 31 378 44 21', key: '+41313784421', cc: '41', nsn: '313784421' };
const PEOPLE: readonly Person[] = [
  {
    id: 'fz-ida-7731',
    name: 'Ida Quillfeather',
    company: 'Zephyr Optik AG',
    email: 'ida.quillfeather@zephyr.example',
    country: '',
    phones: [IDA_MAIN, { raw: '079 123 45 67', key: '+41791234567', cc: '41', nsn: '791234567' }],
  },
  {
    // Ida's main number is this contact's second one.
    id: 'fz-max-3318',
    name: 'Maximilian Sonnenfeld',
    company: '',
    email: 'm.sonnenfeld@lichtung.example',
    country: '',
    phones: [{ raw: '079 999 88 77', key: '+41799998877', cc: '41', nsn: '799998877' }, IDA_MAIN],
  },
  {
    id: 'fz-otto-4410',
    name: 'Otto Brennwald',
    company: 'Kranich Werkzeug GmbH',
    email: '',
    country: 'DE',
    phones: [{ raw: '+49 (0)89 1234567', key: '+49891234567', cc: '49', nsn: '891234567' }],
  },
  {
    id: 'fz-vera-9052',
    name: 'Vera Lindqvist',
    company: 'Donaublick KG',
    email: '',
    country: 'AT',
    phones: [{ raw: '01 5131234', key: '+4315131234', cc: '43', nsn: '15131234' }],
  },
  {
    // Italian numbers keep their trunk 0 after the country code.
    id: 'fz-gina-6620',
    name: 'Gina Marchetti',
    company: 'Ponte Rosso Srl',
    email: '',
    country: '',
    phones: [{ raw: '+39 02 8725 1234', key: '+390287251234', cc: '39', nsn: '0287251234' }],
  },
  {
    id: 'fz-desk-2001',
    name: 'Empfang Zentrale',
    company: '',
    email: '',
    country: '',
    phones: [{ raw: '2001', key: '#2001', cc: '', nsn: '2001' }],
  },
];
const PHONES = PEOPLE.flatMap((person) => person.phones);
const BY_ID = new Map(PEOPLE.map((person) => [person.id, person]));

const CSV = [
  'id,name,company,phone,mobile,email,country',
  ...PEOPLE.map((p) =>
    [p.id, p.name, p.company, p.phones[0]?.raw ?? '', p.phones[1]?.raw ?? '', p.email, p.country].join(','),
  ),
  '',
].join('\n');

/** What must not appear in an answer unless the request itself carried it. */
const SECRETS: readonly string[] = [
  ...new Set(
    PEOPLE.flatMap((p) => [
      p.id,
      p.name,
      p.company,
      p.email,
      ...p.phones.filter((phone) => phone.cc).flatMap((phone) => [phone.key, phone.key.slice(1)]),
    ]).filter(Boolean),
  ),
];

const KNOWN_GOOD = { number: '41313784421', ids: ['fz-ida-7731', 'fz-max-3318'] };
// Far above any real answer time, even on a machine busy with other work: it only catches a request
// that hangs or blocks the event loop.
const HANG_MS = 15_000;
const RUNS = 400;
// Ends the runs after a minute (on a busy machine fewer of them run; those run still count, a run
// that fails still fails), before vitest's own timeout hides a slow counterexample.
const ASSERT = { numRuns: RUNS, interruptAfterTimeLimit: 60_000 } as const;
const TEST_TIMEOUT = 120_000;

let service: TestService;
/** Each contact's card as the service gives it, taken once at the start. */
const cards = new Map<string, Record<string, unknown>>();
const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

/** Awaits an answer, failing on a hang; a blocked event loop delays the timer, so elapsed time is checked too. */
async function within<T>(work: Promise<T>): Promise<T> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HANG_MS} ms`)), HANG_MS);
  });
  try {
    const result = await Promise.race([work, timeout]);
    const ms = performance.now() - started;
    if (ms > HANG_MS) throw new Error(`the answer took ${Math.round(ms)} ms (limit ${HANG_MS} ms)`);
    return result;
  } finally {
    clearTimeout(timer);
  }
}

interface Sent {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: string | Buffer;
  /** true: the right token; false: certainly not; undefined: depends on how the header is read. */
  readonly authorized: boolean | undefined;
}

/** Long runs of one unit shown as a count, so that a counterexample near 64 KiB stays readable. */
function abbreviate(text: string): string {
  return text.replace(
    /([\s\S]{1,8}?)\1{15,}/g,
    (run, unit: string) => `«${JSON.stringify(unit)}×${run.length / unit.length}»`,
  );
}

/** The value as fast-check prints it in a counterexample: bytes in hex, long runs counted. */
function shown<T extends object>(value: T): T {
  const text = abbreviate(
    JSON.stringify(value, (_key, item: unknown) =>
      item && typeof item === 'object' && (item as { type?: unknown }).type === 'Buffer'
        ? `<bytes ${Buffer.from((item as { data: number[] }).data).toString('hex')}>`
        : item,
    ),
  );
  return { ...value, [fc.toStringMethod]: () => text };
}

async function send(request: Sent): Promise<LightMyRequestResponse> {
  return within(
    service.app.inject({
      method: request.method as 'GET',
      url: request.url,
      headers: request.headers,
      ...(request.body !== undefined && { payload: request.body }),
    }),
  );
}

/** Everything the request carried, decoded, for "the answer only repeats what it was sent". */
function requestText(request: Sent): string {
  const body = request.body === undefined ? '' : request.body.toString();
  return [request.url, unescapeQuery(request.url), ...Object.values(request.headers), body].join('\n');
}

const STACK_OR_PATH = [
  /\bat [^\n]*\.(?:js|ts|mjs|cjs):\d+/,
  /\.(?:js|ts|mjs|cjs):\d+:\d+/,
  /node_modules/,
  /file:\/\//,
  /\bstack\b/i,
];

/** No stack trace, no path of this machine, no token unless the request's URL or body carried it. */
function checkNothingInternal(request: Sent, answer: string, where: string): void {
  const sentText = requestText(request);
  for (const pattern of STACK_OR_PATH) {
    if (!pattern.test(sentText)) expect(answer, where).not.toMatch(pattern);
  }
  for (const internal of [process.cwd(), service.dataDir]) expect(answer, where).not.toContain(internal);
  const echoable = `${request.url}${request.body?.toString() ?? ''}`;
  if (!echoable.includes(TOKEN)) expect(answer, where).not.toContain(TOKEN);
}

function ids(response: LightMyRequestResponse): string[] {
  return (response.json() as { id: string }[]).map((contact) => contact.id);
}

function digitsOf(text: string): string {
  return text.normalize('NFKC').replace(/\D/g, '');
}

/** A lookup answer: known contacts only, each card whole and unmixed, each with a number the request carried. */
function checkContacts(answer: unknown[], digits: string): void {
  expect(answer.length).toBeLessThanOrEqual(5);
  for (const contact of answer) {
    const { crmLogo, ...card } = contact as Record<string, unknown>;
    const person = BY_ID.get(card['id'] as string);
    expect(person, `unknown contact ${JSON.stringify(contact)}`).toBeDefined();
    const { crmLogo: _, ...expected } = cards.get(person!.id)!;
    expect(card).toEqual(expected);
    expect(crmLogo).toMatch(/\/logo\.svg$/);
    const asked = person!.phones.some((phone) => digits.includes(phone.nsn));
    expect(asked, `${person!.id} answered for a number the request did not carry`).toBe(true);
  }
}

/** A plain path that certainly reaches `<base>/Lookup` or `<base>/<Workflow>` (odd paths may not). */
function isConnectorRoute(request: Sent): boolean {
  const path = request.url.split('?')[0]!;
  const match = /^\/(?!\.+\/?$)([\w.~-]{1,100})\/?$/.exec(path);
  if (!match) return false;
  if (request.method === 'POST') return true;
  return ['GET', 'HEAD'].includes(request.method) && match[1]!.toLowerCase() === 'lookup';
}

/** What every answer must satisfy, whatever was sent. */
function checkAnswer(request: Sent, response: LightMyRequestResponse): void {
  const where = `${request.method} ${request.url.slice(0, 200)} -> ${response.statusCode} ${response.body.slice(0, 300)}`;
  expect(response.statusCode, where).toBeLessThan(500);
  expect(response.statusCode, where).toBeGreaterThanOrEqual(200);

  const sentText = requestText(request);
  checkNothingInternal(request, response.body, where);

  const guarded = request.authorized === false && isConnectorRoute(request);
  if (request.method === 'HEAD') {
    expect(response.body, where).toBe('');
    if (guarded) expect(response.statusCode, where).toBe(401);
    return;
  }
  const path = request.url.split('?')[0]!.toLowerCase().replace(/\/+$/, '');
  const type = String(response.headers['content-type'] ?? '');
  if (!type.startsWith('application/json')) {
    // The only answers that are not JSON: the logo and the metrics, for GET.
    expect(response.statusCode, where).toBe(200);
    expect(request.method, where).toBe('GET');
    expect(['/logo.svg', '/metrics'], where).toContain(path);
    for (const secret of SECRETS) expect(response.body, where).not.toContain(secret);
    return;
  }
  const body = JSON.parse(response.body) as unknown;

  if (response.statusCode >= 400) {
    expect(Object.keys(body as object), where).toEqual(['error']);
    const { error } = body as { error: Record<string, unknown> };
    expect(Object.keys(error).sort(), where).toEqual(['code', 'message']);
    expect(Object.keys(ErrorCodes), where).toContain(error['code']);
    expect(typeof error['message'], where).toBe('string');
  }
  if (guarded) {
    // The token is checked before anything else is read: whatever else is wrong, only "unauthorized".
    expect(response.statusCode, where).toBe(401);
    expect((body as { error: { code: string } }).error.code, where).toBe('UNAUTHORIZED');
  }

  if (Array.isArray(body)) {
    // Only the lookup answers with an array, and only to the right token.
    expect(response.statusCode, where).toBe(200);
    expect(request.authorized, where).not.toBe(false);
    checkContacts(body, digitsOf(sentText));
    return;
  }
  if (response.statusCode < 300 && body && typeof body === 'object' && 'url' in body) {
    // A workflow's answer: it ran, so the token was right.
    expect(request.authorized, where).not.toBe(false);
    expect(Object.keys(body).sort(), where).toEqual(['id', 'url']);
  }
  for (const secret of SECRETS) {
    if (!sentText.includes(secret)) expect(response.body, where).not.toContain(secret);
  }
}

/** After every run: the known number still finds its contacts, and no prototype was touched. */
async function stillHealthy(): Promise<void> {
  const response = await send({
    method: 'POST',
    url: '/Lookup',
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: { phoneNumber: KNOWN_GOOD.number } }),
    authorized: true,
  });
  expect(response.statusCode).toBe(200);
  expect(ids(response)).toEqual(KNOWN_GOOD.ids);
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
}

// ---- Arbitraries -------------------------------------------------------------------------------

const digit = fc.constantFrom(...'0123456789');
const fullWidth = (text: string) => text.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)));

/** A contact's number the way people write it: every prefix and grouping, sometimes with a slip. */
const humanNumber: fc.Arbitrary<string> = fc
  .record({
    phone: fc.constantFrom(...PHONES),
    prefix: fc.constantFrom('+cc', '00cc', 'cc', '0', '+cc (0)', '00cc(0)', '+ cc ', '+cc-', ''),
    separator: fc.constantFrom(' ', '-', '.', '/', '\u00a0', '\u2009', ' / ', ''),
    cuts: fc.uniqueArray(fc.integer({ min: 1, max: 9 }), { maxLength: 4 }),
    slip: fc.oneof(
      { weight: 6, arbitrary: fc.constant({ kind: 'none' as const, at: 0, char: '' }) },
      fc.record({
        kind: fc.constantFrom('replace', 'drop', 'insert', 'letter', 'extension', 'label', 'wide', 'pad'),
        at: fc.nat(),
        char: fc.oneof(digit, fc.constantFrom('a', 'O', 'l', 'x', '#', '(', ')', '*', 'é')),
      }),
    ),
  })
  .map(({ phone, prefix, separator, cuts, slip }) => {
    let nsn = phone.nsn;
    const at = slip.at % (nsn.length + 1);
    if (slip.kind === 'replace') nsn = nsn.slice(0, at) + slip.char + nsn.slice(at + 1);
    if (slip.kind === 'drop') nsn = nsn.slice(0, at) + nsn.slice(at + 1);
    if (slip.kind === 'insert' || slip.kind === 'letter') nsn = nsn.slice(0, at) + slip.char + nsn.slice(at);
    let grouped = '';
    [...nsn].forEach((char, index) => {
      grouped += (cuts.includes(index) ? separator : '') + char;
    });
    const head = phone.cc ? prefix.replace('cc', phone.cc) : '';
    let text = head + (prefix.endsWith(')') || prefix.endsWith(' ') ? '' : separator.trim()) + grouped;
    if (slip.kind === 'extension') text += ['ext. 12', ' x 3', ' #45', ' intern 7', ';ext=9'][at % 5];
    if (slip.kind === 'label') text = ['Tel: ', 'M: ', 'tel:', 'Mobile (work) '][at % 4] + text;
    if (slip.kind === 'wide') text = fullWidth(text);
    if (slip.kind === 'pad') text = ` \t${text}\u00a0 `;
    return text;
  });

const randomDigits = fc
  .tuple(fc.constantFrom('', '+', '00', '0', '+00'), fc.string({ unit: digit, maxLength: 20 }))
  .map(([prefix, digits]) => prefix + digits);

const oddNumbers = fc.constantFrom(
  '',
  ' ',
  '+',
  '00',
  '0',
  '+41',
  '#2001',
  '2001',
  '02001',
  '+2001',
  'anonymous',
  'Unknown',
  'unknown caller',
  '-',
  '0000000000',
  '999999999999999999999',
  '+41 21 552 20 00; 079 123 45 67',
  '41215522000 oder 41791234567',
  'tel:+41-21-552-20-00;ext=12',
  '\u0000',
  'null',
);

const HUGE_UNIT = fc.constantFrom(' ', '\t', '\u00a0', '1', '0', '+', '#', 'x', 'a', '-', '(', 'é');
/** Long texts near the 64 KiB body limit: a short start, one unit repeated, a short end. */
const hugeText = fc
  .record({
    head: fc.oneof(randomDigits, fc.string({ unit: HUGE_UNIT, maxLength: 3 })),
    unit: fc.oneof(
      fc.constantFrom(' ', '\t', ' \t', '\u00a0'),
      fc.string({ unit: HUGE_UNIT, minLength: 1, maxLength: 3 }),
    ),
    length: fc.oneof(fc.integer({ min: 1000, max: 60_000 }), fc.constant(60_000)),
    tail: fc.string({ unit: HUGE_UNIT, minLength: 1, maxLength: 3 }),
  })
  .map(({ head, unit, length, tail }) => head + unit.repeat(Math.floor(length / unit.length)) + tail);

/** Numbers of every kind that stay short enough to be a written phone number. */
const shortNumber = fc.oneof(
  { weight: 6, arbitrary: humanNumber },
  { weight: 2, arbitrary: randomDigits },
  { weight: 1, arbitrary: oddNumbers },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme-composite', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
);

const anyNumber = fc.oneof({ weight: 4, arbitrary: shortNumber }, { weight: 1, arbitrary: hugeText });

const casing = (name: string) =>
  fc.constantFrom(name, name[0]!.toUpperCase() + name.slice(1), name.toUpperCase(), name.toLowerCase());

/** A JSON body that carries a number the way the CONNECTOR or an older client would. */
const lookupBody = (number: fc.Arbitrary<string>) =>
  fc
    .record({
      inputs: casing('inputs'),
      phoneNumber: casing('phoneNumber'),
      number,
      asJsonNumber: fc.boolean(),
      extra: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
    })
    .map(({ inputs, phoneNumber, number, asJsonNumber, extra }) => {
      const value = asJsonNumber && /^\d{1,15}$/.test(number) ? Number(number) : number;
      return {
        asked: String(value),
        text: JSON.stringify({ [inputs]: { [phoneNumber]: value, ...(extra !== undefined && { extra }) } }),
      };
    });

/** Text of deeply nested JSON within the body limit, alone or inside `inputs`. */
const deepBody = fc
  .record({
    depth: fc.integer({ min: 1, max: 20_000 }),
    kind: fc.constantFrom('array', 'object', 'mixed'),
    place: fc.constantFrom('alone', 'lookup', 'call', 'callWithTime', 'proto'),
  })
  .map(({ depth, kind, place }) => {
    // Most stay within 64 KiB; the rest are refused for their size.
    const levels = Math.min(depth, kind === 'array' ? 20_000 : kind === 'object' ? 10_000 : 8000);
    const open = kind === 'array' ? '[' : kind === 'object' ? '{"a":' : '[{"a":';
    const close = kind === 'array' ? ']' : kind === 'object' ? '}' : '}]';
    const core = place === 'proto' ? '{"__proto__":{"polluted":1}}' : '1';
    const deep = open.repeat(levels) + core + close.repeat(levels);
    if (place === 'lookup') return `{"inputs":{"phoneNumber":"41215522000","deep":${deep}}}`;
    if (place === 'call') return `{"inputs":{"direction":"incoming","deep":${deep}}}`;
    if (place === 'callWithTime') return `{"inputs":{"startedTime":"2026-01-05T10:00:00Z","deep":${deep}}}`;
    return deep;
  });

/** Objects written as JSON text, so that `__proto__` is an own key and keys may repeat. */
const POLLUTING_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'inputs',
  'Inputs',
  'phoneNumber',
  'polluted',
];
const pollutingBody: fc.Arbitrary<string> = fc.letrec<{ value: string; object: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.jsonValue({ maxDepth: 1 }).map((value) => JSON.stringify(value) ?? 'null'),
    fc.constantFrom('"41215522000"', '{"polluted":true}', '{"prototype":{"polluted":true}}'),
    tie('object'),
  ),
  object: fc
    .array(fc.tuple(fc.constantFrom(...POLLUTING_KEYS), tie('value')), { maxLength: 4 })
    .map((entries) => `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`),
})).object;

const isoTime = fc.oneof(
  fc
    .date({
      min: new Date('1970-01-01T00:00:00Z'),
      max: new Date('2100-01-01T00:00:00Z'),
      noInvalidDate: true,
    })
    .map((date) => date.toISOString()),
  fc.stringMatching(
    /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$/,
  ),
  fc.constantFrom(
    '',
    ' ',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999999+23:59',
    'yesterday',
    '2026-02-30',
  ),
);

/** The call fields the CONNECTOR sends, tried below in any casing. */
const CALL_FIELDS = [...CALL_TEXT_FIELDS, 'direction', ...CALL_TIME_FIELDS];

/** Markup that the call page must show as text, never run. */
const MARKUP = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "'><svg onload=alert(1)>"];

/** JSON text nested `depth` levels deep, written out as text (a value that deep cannot be stringified). */
const nestedText = fc
  .tuple(fc.integer({ min: 1, max: 5000 }), fc.constantFrom('[', '{"a":'))
  .map(([depth, open]) => `${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}`);

/** A field's value as JSON text. */
const fieldValue = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }).map((v) => JSON.stringify(v)) },
  { weight: 3, arbitrary: isoTime.map((v) => JSON.stringify(v)) },
  { weight: 3, arbitrary: anyNumber.map((v) => JSON.stringify(v)) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom('incoming', 'outgoing', 'Incoming', 'OUTGOING', 'sideways', '')
      .map((v) => JSON.stringify(v)),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null') },
  { weight: 1, arbitrary: fc.constantFrom(...PEOPLE.map((p) => JSON.stringify(p.id))) },
  { weight: 1, arbitrary: fc.constantFrom(...MARKUP.map((m) => JSON.stringify(m))) },
  { weight: 1, arbitrary: nestedText },
);

/** A workflow body: known call fields in any case, unknown fields, odd and deeply nested values. */
const callBody = fc
  .record({
    inputs: casing('inputs'),
    fields: fc.array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...CALL_FIELDS).chain(casing), fc.string({ maxLength: 12 })),
        fieldValue,
      ),
      { maxLength: 8 },
    ),
  })
  .map(
    ({ inputs, fields }) =>
      `{${JSON.stringify(inputs)}:{${fields.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}}`,
  );

const invalidJson = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
  fc
    .json({ maxDepth: 3 })
    .chain((text) => fc.nat({ max: Math.max(0, text.length - 1) }).map((cut) => text.slice(0, cut))),
  fc.constantFrom(
    '{',
    '{"inputs":',
    '{"inputs":{"phoneNumber":"4121',
    "{'inputs':{}}",
    '{inputs:{phoneNumber:1}}',
    'NaN',
    '\ufeff',
    '\u0000',
  ),
);

const body: fc.Arbitrary<string | Buffer> = fc.oneof(
  { weight: 3, arbitrary: lookupBody(anyNumber).map((b) => b.text) },
  { weight: 3, arbitrary: callBody },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? 'null') },
  { weight: 2, arbitrary: invalidJson },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 1, arbitrary: deepBody },
  { weight: 1, arbitrary: pollutingBody },
  {
    weight: 1,
    arbitrary: hugeText.map((text) => JSON.stringify({ inputs: { phoneNumber: '41215522000', pad: text } })),
  },
  { weight: 1, arbitrary: hugeText },
);

const segment = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 6 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme', maxLength: 6 }),
  fc
    .tuple(
      fc.string({ maxLength: 3 }),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFxyz%'), maxLength: 3 }),
    )
    .map(([text, hex]) => `${text}%${hex}`),
  fc.integer({ min: 90, max: 300 }).map((n) => 'a'.repeat(n)),
);

const path = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '/Lookup',
      '/lookup',
      '/LOOKUP',
      '/Lookup/',
      '/CallFlow',
      '/callflow',
      '/CALLFLOW/',
      '/CreateTicket',
      '/Callflow2',
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '/',
      '/healthz',
      '/readyz',
      '/metrics',
      '/logo.svg',
      '/calls/AAAAAAAAAAAAAAAAAAAAAA',
      '/calls/',
      '//Lookup',
      '/Lookup/Lookup',
      '/%4Cookup',
      '/Look%75p',
      '/Lookup%',
      '/%ZZ',
      '/Lookup%00',
      '/..%2fLookup',
      '/./Lookup',
      '/Lookup;a=1',
      '/Lookup.json',
      '/__proto__',
      '/constructor',
      '/prototype',
      '/hasOwnProperty',
      '/toString',
    ),
  },
  {
    weight: 3,
    // The injector reads the path as a URL, where a raw backslash is a slash: it goes encoded.
    arbitrary: fc
      .array(segment, { minLength: 1, maxLength: 4 })
      .map((parts) => `/${parts.join('/')}`.replaceAll('\\', '%5C')),
  },
);

const query = fc.oneof(
  fc.tuple(casing('PhoneNumber'), anyNumber).map(([name, number]) => `${name}=${encodeURIComponent(number)}`),
  fc
    .tuple(casing('PhoneNumber'), shortNumber, shortNumber)
    .map(([name, a, b]) => `${name}=${encodeURIComponent(a)}&${name}=${encodeURIComponent(b)}`),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    'PhoneNumber[]=41215522000',
    'PhoneNumber[a]=1',
    'PhoneNumber=%E0%A4%A',
    'PhoneNumber=%',
    'PhoneNumber',
    '&&=&',
    '__proto__[x]=1',
  ),
);

const TOKEN_HEADER = 'x-execution-token';

/** The token header: right (in any header-name case), missing, wrong, or nearly right. */
const auth: fc.Arbitrary<{ headers: Record<string, string>; authorized: boolean | undefined }> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .mixedCase(fc.constant(TOKEN_HEADER))
      .map((name) => ({ headers: { [name]: TOKEN }, authorized: true })),
  },
  { weight: 1, arbitrary: fc.constant({ headers: {}, authorized: false }) },
  {
    weight: 1,
    arbitrary: fc
      .string({ unit: 'grapheme-ascii', maxLength: 40 })
      .filter((value) => value !== TOKEN)
      .map((value) => ({ headers: { [TOKEN_HEADER]: value }, authorized: false })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        kind: fc.constantFrom(
          'replace',
          'drop',
          'append',
          'prefix',
          'upper',
          'twice',
          'bearer',
          'otherHeader',
          'similarHeader',
          'list',
        ),
        at: fc.nat({ max: TOKEN.length - 1 }),
        char: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
      })
      .map(({ kind, at, char }) => {
        const swapped = TOKEN.slice(0, at) + (TOKEN[at] === char ? '~' : char) + TOKEN.slice(at + 1);
        const variants: Record<typeof kind, Record<string, string>> = {
          replace: { [TOKEN_HEADER]: swapped },
          drop: { [TOKEN_HEADER]: TOKEN.slice(0, at) + TOKEN.slice(at + 1) },
          append: { [TOKEN_HEADER]: TOKEN + (char.trim() || '~') },
          prefix: { [TOKEN_HEADER]: char.trim() ? char + TOKEN : `x${TOKEN}` },
          upper: { [TOKEN_HEADER]: TOKEN.toUpperCase() },
          twice: { [TOKEN_HEADER]: TOKEN + TOKEN },
          bearer: { authorization: `Bearer ${TOKEN}` },
          otherHeader: { 'x-api-key': TOKEN },
          similarHeader: { 'x-execution-tokens': TOKEN },
          list: { [TOKEN_HEADER]: `${TOKEN}, ${TOKEN}` },
        };
        return { headers: variants[kind], authorized: false };
      }),
  },
  // Over a socket the surrounding spaces are trimmed by Node's parser; through inject they are not.
  { weight: 1, arbitrary: fc.constant({ headers: { [TOKEN_HEADER]: ` ${TOKEN} ` }, authorized: undefined }) },
);

const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'application/json; charset=utf-16',
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/octet-stream',
    'application/xml',
    '',
    ';',
    'application/json;;;',
  ),
  fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
);

const OTHER_HEADERS = [
  'accept',
  'accept-encoding',
  'content-encoding',
  'content-length',
  'host',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-request-id',
  'cookie',
  'user-agent',
];
const otherHeaders = fc.dictionary(
  fc
    .oneof(fc.constantFrom(...OTHER_HEADERS), fc.stringMatching(/^x-[a-z0-9-]{1,12}$/))
    .filter((name) => name !== TOKEN_HEADER),
  fc.oneof(
    fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
    fc.nat().map(String),
    fc.constantFrom('gzip', 'chunked', '0', '-1', '1e3'),
  ),
  { maxKeys: 3 },
);

const method = fc.constantFrom(
  'GET',
  'POST',
  'POST',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'HEAD',
  'PROPFIND',
  'QUERY',
);

const anyRequest: fc.Arbitrary<Sent> = fc
  .record({
    method,
    path,
    query: fc.option(query, { nil: undefined }),
    auth,
    contentType: fc.option(contentType, { nil: undefined }),
    otherHeaders,
    body: fc.option(body, { nil: undefined }),
  })
  .map(({ method, path, query, auth, contentType, otherHeaders, body }) =>
    shown({
      method,
      url: query === undefined ? path : `${path}?${query}`,
      headers: {
        ...otherHeaders,
        ...(contentType !== undefined && { 'content-type': contentType }),
        ...auth.headers,
      },
      ...(body !== undefined && { body }),
      authorized: auth.authorized,
    }),
  );

// ---- Properties --------------------------------------------------------------------------------

beforeAll(async () => {
  // Without limits: random wrong tokens would otherwise lock the test's address out, and the
  // runs exceed the per-token rate; the limits have their own tests.
  const unlimited = { max: 1_000_000_000 };
  service = await build({ limits: { perAddress: unlimited, perToken: unlimited, badTokens: unlimited } });
  await service.importCsv(CSV);
  for (const person of PEOPLE) {
    const response = await send({
      method: 'POST',
      url: '/Lookup',
      headers: AUTH,
      body: JSON.stringify({ inputs: { phoneNumber: person.phones[0]!.key.replace('#', '') } }),
      authorized: true,
    });
    const card = (response.json() as Record<string, unknown>[]).find((c) => c['id'] === person.id);
    expect(card, `${person.id} is found by its main number`).toBeDefined();
    cards.set(person.id, card!);
  }
});
afterAll(() => service?.close());

describe('the HTTP API under random input', () => {
  it('imported the contacts under the keys written out here', async () => {
    for (const person of PEOPLE) {
      for (const phone of person.phones) {
        const response = await send({
          method: 'POST',
          url: '/Lookup',
          headers: AUTH,
          body: JSON.stringify({ inputs: { phoneNumber: phone.key.replace('#', '') } }),
          authorized: true,
        });
        expect(ids(response)).toContain(person.id);
        expect(incomingKey(phone.key.replace('#', ''), 'CH')).toBe(phone.key);
      }
    }
  });

  it(
    'answers any request with JSON of a documented shape, never a 5xx, never data without the token',
    async () => {
      await fc.assert(
        fc.asyncProperty(anyRequest, async (request) => {
          checkAnswer(request, await send(request));
          await stillHealthy();
        }),
        ASSERT,
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'answers a lookup with exactly the contacts that have the number asked, however it is written',
    async () => {
      // Mostly written numbers; sometimes a text far longer than any number, which may be refused.
      const number = fc.oneof({ weight: 4, arbitrary: shortNumber }, { weight: 1, arbitrary: hugeText });
      const form = fc.oneof(
        lookupBody(number).map(({ asked, text }) =>
          shown({ asked, method: 'POST', url: '/Lookup', body: text as string | undefined }),
        ),
        fc
          .tuple(fc.constantFrom('GET', 'POST'), casing('PhoneNumber'), number)
          .map(([method, name, number]) =>
            shown({
              asked: number,
              method,
              url: `/Lookup?${name}=${encodeURIComponent(number)}`,
              body: undefined,
            }),
          ),
      );
      await fc.assert(
        fc.asyncProperty(form, async ({ asked, method, url, body }) => {
          const request: Sent = {
            method,
            url,
            headers: AUTH,
            authorized: true,
            ...(body !== undefined && { body }),
          };
          const response = await send(request);
          checkAnswer(request, response);
          // Refused only when the body is over its limit or the "number" longer than any written one.
          const tooLarge = Buffer.byteLength(body ?? '') > 64 * 1024;
          const tooLong = asked.trim().length > 64;
          if ((tooLarge || tooLong) && response.statusCode !== 200) {
            expect(response.json().error.code).toBe(tooLarge ? 'BODY_TOO_LARGE' : 'INVALID_INPUT');
            await stillHealthy();
            return;
          }
          expect(response.statusCode, `${url} ${body?.slice(0, 200)}`).toBe(200);
          const key = incomingKey(asked, 'CH');
          const expected = PEOPLE.filter(
            (p) => key !== undefined && p.phones.some((phone) => phone.key === key),
          );
          expect(ids(response).sort(), `asked ${JSON.stringify(asked)} (key ${key})`).toEqual(
            expected.map((p) => p.id).sort(),
          );
          await stillHealthy();
        }),
        ASSERT,
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'reveals nothing without the right token, even for numbers that would be found',
    async () => {
      const request = fc
        .record({
          auth: auth.filter((a) => a.authorized === false),
          method: fc.constantFrom('GET', 'POST'),
          path: fc.constantFrom('/Lookup', '/lookup', '/LOOKUP/', '/CallFlow', '/NoSuchFlow'),
          phone: fc.constantFrom(...PHONES),
          viaQuery: fc.boolean(),
        })
        .map(
          ({ auth, method, path, phone, viaQuery }): Sent =>
            shown({
              method,
              url: viaQuery ? `${path}?PhoneNumber=${phone.key.replace(/[+#]/, '')}` : path,
              headers: { 'content-type': 'application/json', ...auth.headers },
              body: JSON.stringify({
                inputs: { phoneNumber: phone.raw, originatorNumber: phone.raw, direction: 'incoming' },
              }),
              authorized: false,
            }),
        );
      await fc.assert(
        fc.asyncProperty(request, async (sent) => {
          const response = await send(sent);
          checkAnswer(sent, response);
          if (sent.method === 'POST' || /lookup/i.test(sent.url)) {
            expect(response.statusCode).toBe(401);
            expect(response.json().error.code).toBe('UNAUTHORIZED');
          }
          await stillHealthy();
        }),
        { ...ASSERT, numRuns: 200 },
      );
    },
    TEST_TIMEOUT,
  );

  it(
    'takes any workflow body: CallFlow answers {id, url} or a 400, an unknown workflow a 404',
    async () => {
      const request = fc
        .record({
          path: fc.constantFrom('/CallFlow', '/callflow', '/CALLFLOW', '/NoSuchFlow', '/Create%20Ticket'),
          body: fc.oneof({ weight: 4, arbitrary: callBody }, { weight: 1, arbitrary: body }),
        })
        .map(({ path, body }) => shown({ method: 'POST', url: path, headers: AUTH, body, authorized: true }));
      await fc.assert(
        fc.asyncProperty(request, async (sent) => {
          const response = await send(sent);
          checkAnswer(sent, response);
          if (/callflow/i.test(sent.url)) {
            if (response.statusCode === 200) {
              const { id, url } = response.json();
              expect(id).toMatch(/^[\w-]{22}$/);
              expect(url).toBe(`http://localhost:80/calls/${id}`);
              // The page the answer links to shows whatever the call carried, as text.
              const page = await within(service.app.inject({ method: 'GET', url: new URL(url).pathname }));
              expect(page.statusCode).toBe(200);
              expect(page.headers['content-type']).toMatch(/^text\/html/);
              checkNothingInternal(sent, page.body, url);
              for (const markup of MARKUP) expect(page.body).not.toContain(markup.slice(0, 12));
            } else {
              expect([400, 413]).toContain(response.statusCode);
            }
          } else if (response.statusCode === 404) {
            expect(response.json().error.code).toBe('UNKNOWN_WORKFLOW');
          } else {
            // The body is read before the route's handler runs.
            expect(response.json().error.code).toMatch(/^(INVALID_JSON|BODY_TOO_LARGE)$/);
          }
          await stillHealthy();
        }),
        ASSERT,
      );
    },
    TEST_TIMEOUT,
  );
});
