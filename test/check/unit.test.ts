import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { callInputs, wireNumber } from '../../src/check/call.js';
import { type CheckResult, percentile } from '../../src/check/checks.js';
import { collectHeaders, parseHeader, parseRootUrl } from '../../src/check/options.js';
import { exitCodeOf, formatJson, formatText } from '../../src/check/report.js';
import { contactFindings, workflowFindings } from '../../src/check/shape.js';

describe('check: reading the URL and headers', () => {
  it.each([
    ['https://lookup.example.com', 'https://lookup.example.com'],
    ['https://lookup.example.com/', 'https://lookup.example.com'],
    ['http://127.0.0.1:8080/services/', 'http://127.0.0.1:8080/services'],
  ])('root %s → %s', (input, root) => {
    expect(parseRootUrl(input)).toBe(root);
  });

  it.each([
    ['lookup.example.com', /not a URL/],
    ['https://user:secret@lookup.example.com', /credentials in a header/],
    ['https://lookup.example.com/Lookup?PhoneNumber=1', /without a query/],
    ['https://lookup.example.com/lookup/', /without \/Lookup \(https:\/\/lookup\.example\.com\)/],
  ])('refuses %s', (input, message) => {
    expect(() => parseRootUrl(input)).toThrow(message);
  });

  it('reads headers from the flag, the environment and a file, and never puts a value in a message', () => {
    const dir = mkdtempSync(join(tmpdir(), 'callcard-check-'));
    try {
      writeFileSync(join(dir, 'token'), 'from-a-file-0123456789\n');
      expect(
        collectHeaders(
          {
            header: ['X-Tenant:  acme '],
            headerEnv: ['X-Execution-Token=TOKEN_VAR'],
            headerFile: [`X-Other=${join(dir, 'token')}`],
          },
          { TOKEN_VAR: 'from-the-env-0123456789' },
        ),
      ).toEqual({
        'X-Tenant': 'acme',
        'X-Execution-Token': 'from-the-env-0123456789',
        'X-Other': 'from-a-file-0123456789',
      });
      expect(() => collectHeaders({ headerFile: [`X-Other=${join(dir, 'missing')}`] })).toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(() => parseHeader('Bad Name: value-secret')).toThrow(/not a header name/);
    expect(() => parseHeader('X-Execution-Token:   ')).toThrow(/empty/);
    expect(() => collectHeaders({ header: ['A: 1234', 'a: 5678'] })).toThrow(/given twice/);
    try {
      parseHeader('Bad Name: value-secret');
    } catch (error) {
      expect((error as Error).message).not.toContain('value-secret');
    }
  });
});

describe('check: numbers and the test call', () => {
  it.each([
    ['41215522000', '41215522000'],
    ['+41 21 552 20 00', '41215522000'],
    ['0041 (0)21 552 20 00', '41215522000'],
    ['+49 (0)89 1234567', '49891234567'],
    ['anonymous', 'anonymous'],
  ])('%s is sent as %s', (input, wire) => {
    expect(wireNumber(input)).toBe(wire);
  });

  it('builds an answered call back from its end, and a missed one with declinedTime', () => {
    const endedAt = Date.parse('2026-11-26T10:03:07Z');
    const answered = callInputs({
      from: '41215522000',
      to: '41445550100',
      direction: 'incoming',
      endedAt,
      ringMs: 7000,
      talkSeconds: 180,
      contactCrmId: 'c1',
      contactName: 'Alexa Holiday',
    });
    expect(answered).toEqual({
      contactCrmId: 'c1',
      userCrmId: '',
      originatorNumber: '41215522000',
      originatorName: 'Alexa Holiday',
      destinationNumber: '41445550100',
      destinationName: '',
      direction: 'incoming',
      startedTime: '2026-11-26T10:00:00Z',
      answeredTime: '2026-11-26T10:00:07Z',
      endedTime: '2026-11-26T10:03:07Z',
      declinedTime: '',
    });
    const missed = callInputs({
      from: '1',
      to: '2',
      direction: 'outgoing',
      endedAt,
      ringMs: 20_000,
      talkSeconds: 0,
    });
    expect(missed).toMatchObject({
      startedTime: '2026-11-26T10:02:47Z',
      answeredTime: '',
      declinedTime: '2026-11-26T10:03:07Z',
    });
  });
});

describe('check: shapes', () => {
  it('accepts the sample of the API and flags what the CONNECTOR cannot read', () => {
    const sample = {
      name: 'Alexa Holiday',
      company: 'White Cross Co',
      contactUri: 'https://crm.example/c/1',
      companyUri: 'https://crm.example/a/9',
      id: 'Crm Identification Number',
      crmName: 'Sugar CRM',
      crmLogo: 'https://crm.example/logo.png',
      crmActions: ['CallFlow'],
      customData: { title1: 'Data1', title2: 'Data2' },
    };
    expect(contactFindings([sample], { workflow: 'CallFlow' })).toEqual([]);
    const levels = (entry: unknown) =>
      contactFindings([entry], { workflow: 'CallFlow' }).map((f) => `${f.level} ${f.detail}`);
    expect(levels({ ...sample, company: null })).toEqual(['warn [0].company is null']);
    expect(levels({ ...sample, crmLogo: 'logo.png' })).toEqual([
      'fail [0].crmLogo is not an absolute http(s) URL ("logo.png")',
    ]);
    expect(levels({ ...sample, customData: { age: 42 } })).toEqual(['warn [0].customData.age is a number']);
    expect(levels({ ...sample, crmActions: [] })).toEqual(['warn [0].crmActions does not list CallFlow']);
    expect(levels({ Name: 'Alexa', Id: '1' })).toEqual([
      'warn [0] has neither name nor company',
      'warn [0] has no id',
      'warn [0] uses PascalCase keys (Name, Id)',
    ]);
    expect(levels('Alexa')).toEqual(['fail [0] is a string']);
  });

  it('reads a workflow answer: every part optional but typed', () => {
    const ok = workflowFindings(
      200,
      '{"id":"1","url":"https://crm.example/calls/1"}',
      { id: '1', url: 'https://crm.example/calls/1' },
      true,
    );
    expect(ok).toEqual({ findings: [], id: '1', url: 'https://crm.example/calls/1' });
    expect(workflowFindings(200, '', undefined, false).findings.map((f) => f.level)).toEqual(['warn']);
    expect(workflowFindings(200, 'OK', undefined, false).findings.map((f) => f.level)).toEqual(['fail']);
    expect(workflowFindings(200, '{"id":7}', { id: 7 }, true).findings.map((f) => f.detail)).toEqual([
      'id is a number (7)',
      'no url',
    ]);
    expect(workflowFindings(500, '', undefined, false).findings.map((f) => f.level)).toEqual(['fail']);
  });
});

describe('check: report', () => {
  const results: CheckResult[] = [
    {
      id: 'lookup.miss',
      title: 'Unknown number answers 200 []',
      status: 'fail',
      detail: 'answered 404',
      advice: 'Answer 200 [].',
    },
    {
      id: 'lookup.legacy',
      title: 'Older form',
      status: 'warn',
      detail: 'answered 400',
      advice: 'Read ?PhoneNumber=.',
    },
    {
      id: 'workflow.answer',
      title: 'Workflow',
      status: 'skip',
      detail: 'no --workflow given',
      advice: 'Pass --workflow.',
    },
    {
      id: 'workflow.repeat',
      title: 'Repeat',
      status: 'skip',
      detail: 'no --workflow given',
      advice: 'Pass --workflow.',
    },
    { id: 'latency', title: 'Lookup latency', status: 'pass', detail: 'p95 1 ms', data: { p95: 1 } },
  ];

  it('prints one line per point, advice under it (a skip advice once), and a summary', () => {
    const text = formatText(results, { url: 'https://x.example', headerNames: ['X-Execution-Token'] });
    expect(text).toContain(
      'callcard check https://x.example (headers X-Execution-Token; no --number; no --workflow)',
    );
    expect(text).toMatch(
      /^FAIL {2}lookup\.miss +Unknown number answers 200 \[\]: answered 404\n +→ Answer 200 \[\]\.$/m,
    );
    expect(text.match(/Pass --workflow\./g)).toHaveLength(1);
    expect(text).toContain('5 points: 1 passed, 1 failed, 1 warnings, 2 skipped');
  });

  it('exits 1 on a failure, or on a warning with --strict', () => {
    expect(exitCodeOf(results)).toBe(1);
    expect(exitCodeOf(results.slice(1))).toBe(0);
    expect(exitCodeOf(results.slice(1), true)).toBe(1);
    const json = JSON.parse(formatJson(results.slice(1), { url: 'https://x.example', headerNames: [] }));
    expect(json).toMatchObject({ ok: true, summary: { pass: 1, fail: 0, warn: 1, skip: 2 } });
  });

  it('computes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(10);
    expect(percentile(sorted, 95)).toBe(19);
    expect(percentile(sorted, 99)).toBe(20);
    expect(percentile([7], 95)).toBe(7);
  });
});
