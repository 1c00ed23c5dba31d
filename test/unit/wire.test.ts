import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { readCallInputs, readLookupNumber, toWireContact } from '../../src/connector/wire.js';
import { buildOpenApiDocument } from '../../src/http/openapi.js';

// The readers' words are part of the API (the CONNECTOR's users read them); these pin them, and
// the answer of each reader to each kind of value, whatever the readers are built on.

function refusal(read: () => unknown): { code: string; message: string } | undefined {
  try {
    read();
  } catch (error) {
    const { code, message } = error as { code: string; message: string };
    return { code, message };
  }
  return undefined;
}

describe('readLookupNumber', () => {
  it.each([
    ['the body form', { inputs: { phoneNumber: '41215522000' } }, {}, '41215522000'],
    ['names in any case', { INPUTS: { PhoneNUMBER: '41215522000' } }, {}, '41215522000'],
    ['the exact name before another case', { Inputs: 1, inputs: { phoneNumber: '4121' } }, {}, '4121'],
    ['a JSON number', { inputs: { phoneNumber: 41215522000 } }, {}, '41215522000'],
    ['no number in inputs', { inputs: { other: 1 } }, { PhoneNumber: '4121' }, ''],
    ['a null number', { inputs: { phoneNumber: null } }, {}, ''],
    ['the query form', undefined, { phonenumber: '41215522000' }, '41215522000'],
    ['null inputs: the query form', { inputs: null }, { PhoneNumber: '4121' }, '4121'],
    ['a repeated parameter: the first', '', { PhoneNumber: ['4121', '4122'] }, '4121'],
    ['spaces kept for the number parser', { inputs: { phoneNumber: ' 41 21 ' } }, {}, ' 41 21 '],
  ])('reads %s', (_label, body, query, number) => {
    expect(readLookupNumber(body, query)).toBe(number);
  });

  it.each([
    [
      'no inputs and no parameter',
      { phoneNumber: '41215522000' },
      {},
      'MISSING_INPUTS',
      'send {"inputs":{"phoneNumber":"41215522000"}} as JSON, or a PhoneNumber query parameter',
    ],
    ['a parameter with no value', undefined, { PhoneNumber: [] }, 'MISSING_INPUTS', expect.any(String)],
    ['inputs not an object', { inputs: '4121' }, {}, 'INVALID_INPUT', '"inputs" must be a JSON object'],
    ['inputs an array', { inputs: [] }, {}, 'INVALID_INPUT', '"inputs" must be a JSON object'],
    [
      'a number that is no text',
      { inputs: { phoneNumber: { a: 1 } } },
      {},
      'INVALID_INPUT',
      '"inputs.phoneNumber" must be a string',
    ],
    [
      'a number too long',
      { inputs: { phoneNumber: '1'.repeat(101) } },
      {},
      'INVALID_INPUT',
      'the phone number is longer than 100 characters',
    ],
    [
      'a parameter too long',
      undefined,
      { PhoneNumber: '1'.repeat(101) },
      'INVALID_INPUT',
      'the phone number is longer than 100 characters',
    ],
  ])('refuses %s', (_label, body, query, code, message) => {
    expect(refusal(() => readLookupNumber(body, query))).toEqual({ code, message });
  });

  it('measures the length without the surrounding spaces', () => {
    expect(readLookupNumber({ inputs: { phoneNumber: ` ${'1'.repeat(100)}  ` } }, {})).toHaveLength(103);
  });
});

describe('readCallInputs', () => {
  it('reads the fields in any case, trims them, keeps every field under its canonical name', () => {
    const call = readCallInputs({
      Inputs: {
        DIRECTION: ' Outgoing ',
        originatornumber: 41215522000,
        startedTime: ' 2026-11-26T10:00:00Z ',
        answeredTime: '',
        endedTime: null,
        future: { nested: [1, 'two'] },
        gone: null,
      },
    });
    expect(call).toEqual({
      direction: 'outgoing',
      originatorNumber: '41215522000',
      startedTime: '2026-11-26T10:00:00Z',
      all: {
        direction: ' Outgoing ',
        originatorNumber: '41215522000',
        startedTime: ' 2026-11-26T10:00:00Z ',
        answeredTime: '',
        future: { nested: [1, 'two'] },
      },
    });
  });

  it('names every problem at once, in the order of the fields', () => {
    let deep: unknown = 'bottom';
    for (let level = 0; level < 33; level += 1) deep = [deep];
    expect(
      refusal(() =>
        readCallInputs({
          inputs: {
            startedTime: 'yesterday',
            Direction: 'Sideways and beyond the edge',
            userCrmId: ['u7'],
            endedTime: 20261126,
            answeredTime: true,
            [`x${'y'.repeat(80)}`]: deep,
          },
        }),
      ),
    ).toEqual({
      code: 'INVALID_INPUT',
      message: [
        'inputs.startedTime must be an ISO-8601 date-time (2024-05-01T09:30:00Z) or empty',
        'inputs.direction must be "incoming" or "outgoing", not "Sideways and beyond "',
        'inputs.userCrmId must be a string',
        'inputs.endedTime must be an ISO-8601 date-time (2024-05-01T09:30:00Z) or empty',
        'inputs.answeredTime must be a string',
        `inputs.x${'y'.repeat(63)} is nested deeper than 32 levels`,
      ].join('; '),
    });
  });

  it('takes a field nested 32 levels deep', () => {
    let deep: unknown = 'bottom';
    for (let level = 0; level < 32; level += 1) deep = { level: deep };
    expect(readCallInputs({ inputs: { deep } }).all).toEqual({ deep });
  });

  it.each([
    ['no inputs', {}, 'MISSING_INPUTS', 'send the call as {"inputs":{...}} in a JSON body'],
    ['no body', undefined, 'MISSING_INPUTS', 'send the call as {"inputs":{...}} in a JSON body'],
    ['inputs not an object', { inputs: 'call' }, 'INVALID_INPUT', '"inputs" must be a JSON object'],
  ])('refuses %s', (_label, body, code, message) => {
    expect(refusal(() => readCallInputs(body))).toEqual({ code, message });
  });
});

describe('the wire and its description', () => {
  const doc = buildOpenApiDocument({
    version: '0.0.0',
    basePath: '/',
    headerSets: [['X-Execution-Token']],
    workflows: ['CallFlow'],
    allowList: false,
  }) as { components: { schemas: Record<string, { properties: Record<string, unknown> }> } };
  const schemas = doc.components.schemas;

  it('writes a card the document describes, with the fields in the order it lists them', () => {
    const card = toWireContact(
      {
        match: {
          id: 'c1',
          name: 'Alexa Holiday',
          company: 'White Cross Co',
          contactUri: 'https://crm.example/c/1',
          companyUri: 'https://crm.example/a/9',
          customData: { email: 'alexa@example.com' },
        },
        from: { crmName: 'callcard', crmLogo: '/logo.svg', workflows: ['CallFlow'] },
      } as unknown as Parameters<typeof toWireContact>[0],
      'https://lookup.example.ch',
    );
    const ajv = new Ajv2020({ allowUnionTypes: true });
    expect(ajv.validate({ ...schemas['Contact'], additionalProperties: false }, card)).toBe(true);
    expect(Object.keys(card)).toEqual(Object.keys(schemas['Contact']!.properties));
  });

  it('describes every call field the reader knows, and only those', () => {
    const fields = Object.keys(schemas['CallInputs']!.properties);
    const inputs = Object.fromEntries(fields.map((name) => [name.toUpperCase(), '']));
    expect(Object.keys(readCallInputs({ inputs }).all).sort()).toEqual([...fields].sort());
  });
});

describe('src/http modules', () => {
  const root = resolve(import.meta.dirname, '../../src/http');
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? files(join(dir, entry.name))
        : entry.name.endsWith('.ts')
          ? [join(dir, entry.name)]
          : [],
    );

  it('import the app only from outside: routes and the document do not depend on what registers them', () => {
    const app = join(root, 'app.ts');
    for (const file of files(root)) {
      const text = readFileSync(file, 'utf8');
      for (const [, specifier] of text.matchAll(/\bfrom\s+'(\.[^']+)'/g)) {
        const target = resolve(dirname(file), specifier!).replace(/\.js$/, '.ts');
        expect(target, `${relative(root, file)} imports ${specifier}`).not.toBe(app);
      }
    }
  });
});
