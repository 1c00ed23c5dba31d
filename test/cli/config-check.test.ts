import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helper.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli/index.js');

let dir: ReturnType<typeof tempDir>;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.remove());

/** Writes callcard.yaml, one string a line, and runs `callcard config check` on it with only PATH and `env` set. */
function check(lines: readonly string[], env: Record<string, string> = {}) {
  const file = join(dir.path, 'callcard.yaml');
  writeFileSync(file, lines.join('\n'));
  const result = spawnSync(process.execPath, [CLI, 'config', 'check', file], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', ...env },
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Checks a config that must be accepted (exit code 0), whose description says each of `says`. */
function expectValid(
  lines: readonly string[],
  says: readonly string[],
  env: Record<string, string> = {},
): void {
  const result = check(lines, env);
  expect(result.code).toBe(0);
  for (const text of says) expect(result.stdout).toContain(text);
}

/** Checks a config that must be refused with exit code 2, for a problem the error output names. */
function expectRefused(lines: readonly string[], problem: RegExp): void {
  const result = check(lines);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(problem);
}

describe('callcard config check', () => {
  it('says a valid config is valid, with its sources and workflows, and starts nothing', () => {
    expectValid(
      [
        `dataDir: ${join(dir.path, 'data')}`,
        'sources:',
        '  - type: embedded',
        '  - { type: file, name: office, path: office.csv }',
        'workflows:',
        '  CreateTicket: { actions: [{ type: webhook, url: "https://hooks.example/t" }] }',
      ],
      ['valid', 'contacts (embedded), office (file)', 'workflows: CallFlow, CreateTicket'],
    );
    expect(existsSync(join(dir.path, 'data'))).toBe(false);
  });

  it('lists every problem by path, schema and secrets alike, with exit code 2', () => {
    const sources = [
      'sources:',
      '  - type: embedded',
      '  - type: rest',
      '    name: crm',
      '    auth: { type: bearer, tokenEnv: CRM_TOKEN_FOR_CHECK }',
      '    list: { request: { url: "https://crm.example/contacts" } }',
    ];
    expectRefused(['port: 70000', ...sources], /- port: /);
    expectRefused(sources, /sources\.1 \(crm\): .*CRM_TOKEN_FOR_CHECK is not set/);
    expectValid(sources, [], { CRM_TOKEN_FOR_CHECK: 'a-token-that-is-long-enough' });
  });

  it('refuses what serve refuses: a live source that cannot search, a password variable not set', {
    timeout: 60_000,
  }, () => {
    const suitecrm = [
      'sources:',
      '  - type: sql',
      '    name: crm',
      '    driver: mysql',
      '    url: mysql://callcard@127.0.0.1:1/suitecrm',
      '    preset: suitecrm',
      '    baseUrl: https://crm.example',
    ];
    expectRefused([...suitecrm, '    mode: live'], /sources\.0 \(crm\): .*cannot search numbers/);
    const withPassword = [...suitecrm, '    passwordEnv: CRM_DB_PASSWORD_FOR_CHECK'];
    expectRefused(withPassword, /sources\.0 \(crm\): passwordEnv: .*CRM_DB_PASSWORD_FOR_CHECK is not set/);
    expectValid(withPassword, ['crm (sql)'], { CRM_DB_PASSWORD_FOR_CHECK: 'secret' });
  });
});

describe('callcard config check with tenants', () => {
  it('describes each tenant, and reports problems by their path in the file', () => {
    expectValid(
      [
        `dataDir: ${join(dir.path, 'data')}`,
        'tenants:',
        '  acme: { basePath: /acme }',
        '  globex: { basePath: /globex, workflows: { Ticket: { actions: [] } } }',
      ],
      ['tenant acme:', 'serves /globex/Lookup', 'workflows: CallFlow, Ticket'],
    );

    expectRefused(
      [
        'tenants:',
        '  acme: { basePath: /acme, auth: { tokenFile: missing.tokens } }',
        '  globex: { basePath: /globex, region: Mars }',
      ],
      /tenants\.globex\.region: /,
    );
    expectRefused(
      ['tenants:', '  acme: { basePath: /acme }', '  globex: { basePath: /acme/x }'],
      /tenants\.globex\.basePath: overlaps tenant "acme"/,
    );
    expectRefused(
      ['tenants:', '  acme: { basePath: /acme, auth: { tokenFile: missing.tokens } }'],
      /auth: .*missing\.tokens/,
    );
  });

  it('refuses a token that two tenants would accept, from their token files or environment variables', () => {
    const shared = 'shared-token-aaaaaaaaaaaaaa';
    writeFileSync(join(dir.path, 'acme.tokens'), `${shared}\n`);
    writeFileSync(join(dir.path, 'globex.tokens'), `globex-token-bbbbbbbbbbbbbb\n${shared}\n`);
    expectRefused(
      [
        'tenants:',
        '  acme: { basePath: /acme, auth: { tokenFile: acme.tokens } }',
        '  globex: { basePath: /globex, auth: { tokenFile: globex.tokens } }',
      ],
      /tenants\.globex\.auth: a token of it is tenant "acme"'s too/,
    );
    const result = check(
      [
        'tenants:',
        '  acme: { basePath: /acme, auth: { tokenFile: acme.tokens } }',
        '  globex: { basePath: /globex, auth: { header: X-Globex-Key, tokenEnv: GLOBEX_TOKENS } }',
      ],
      { GLOBEX_TOKENS: `other-token-cccccccccccccc,${shared}` },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/tenants\.globex\.auth: a token of it is tenant "acme"'s too/);
    expect(result.stderr + result.stdout).not.toContain(shared);
  });
});
