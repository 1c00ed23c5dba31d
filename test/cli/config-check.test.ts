import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/helper.js';

let dir: ReturnType<typeof tempDir>;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.remove());

/** Writes callcard.yaml, one string a line, and runs `callcard config check` on it with only PATH and `env` set. */
function check(lines: readonly string[], env: Record<string, string> = {}) {
  const file = join(dir.path, 'callcard.yaml');
  writeFileSync(file, lines.join('\n'));
  return runCli(['config', 'check', file], { env });
}

/** Checks a config that must be accepted (exit code 0), whose description says each of `says`. */
async function expectValid(
  lines: readonly string[],
  says: readonly string[],
  env: Record<string, string> = {},
): Promise<void> {
  const result = await check(lines, env);
  expect(result.code).toBe(0);
  for (const text of says) expect(result.stdout).toContain(text);
}

/** Checks a config that must be refused with exit code 2, for a problem the error output names. */
async function expectRefused(lines: readonly string[], problem: RegExp): Promise<void> {
  const result = await check(lines);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(problem);
}

describe('callcard config check', () => {
  it('says a valid config is valid, with its sources and workflows, and starts nothing', async () => {
    await expectValid(
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

  it('lists every problem by path, schema and secrets alike, with exit code 2', async () => {
    const sources = [
      'sources:',
      '  - type: embedded',
      '  - type: rest',
      '    name: crm',
      '    auth: { type: bearer, tokenEnv: CRM_TOKEN_FOR_CHECK }',
      '    list: { request: { url: "https://crm.example/contacts" } }',
    ];
    await expectRefused(['port: 70000', ...sources], /- port: /);
    await expectRefused(sources, /sources\.1 \(crm\): .*CRM_TOKEN_FOR_CHECK is not set/);
    await expectValid(sources, [], { CRM_TOKEN_FOR_CHECK: 'a-token-that-is-long-enough' });
  });

  it('refuses what serve refuses: a live source that cannot search, a password variable not set', {
    timeout: 60_000,
  }, async () => {
    const suitecrm = [
      'sources:',
      '  - type: sql',
      '    name: crm',
      '    driver: mysql',
      '    url: mysql://callcard@127.0.0.1:1/suitecrm',
      '    preset: suitecrm',
      '    baseUrl: https://crm.example',
    ];
    await expectRefused([...suitecrm, '    mode: live'], /sources\.0 \(crm\): .*cannot search numbers/);
    const withPassword = [...suitecrm, '    passwordEnv: CRM_DB_PASSWORD_FOR_CHECK'];
    await expectRefused(
      withPassword,
      /sources\.0 \(crm\): passwordEnv: .*CRM_DB_PASSWORD_FOR_CHECK is not set/,
    );
    await expectValid(withPassword, ['crm (sql)'], { CRM_DB_PASSWORD_FOR_CHECK: 'secret' });
  });
});

describe('callcard config check with tenants', () => {
  it('describes each tenant, and reports problems by their path in the file', async () => {
    await expectValid(
      [
        `dataDir: ${join(dir.path, 'data')}`,
        'tenants:',
        '  acme: { basePath: /acme }',
        '  globex: { basePath: /globex, workflows: { Ticket: { actions: [] } } }',
      ],
      ['tenant acme:', 'serves /globex/Lookup', 'workflows: CallFlow, Ticket'],
    );

    await expectRefused(
      [
        'tenants:',
        '  acme: { basePath: /acme, auth: { tokenFile: missing.tokens } }',
        '  globex: { basePath: /globex, region: Mars }',
      ],
      /tenants\.globex\.region: /,
    );
    await expectRefused(
      ['tenants:', '  acme: { basePath: /acme }', '  globex: { basePath: /acme/x }'],
      /tenants\.globex\.basePath: overlaps tenant "acme"/,
    );
    await expectRefused(
      ['tenants:', '  acme: { basePath: /acme, auth: { tokenFile: missing.tokens } }'],
      /auth: .*missing\.tokens/,
    );
  });

  it('refuses a token that two tenants would accept, from their token files or environment variables', async () => {
    const shared = 'shared-token-aaaaaaaaaaaaaa';
    writeFileSync(join(dir.path, 'acme.tokens'), `${shared}\n`);
    writeFileSync(join(dir.path, 'globex.tokens'), `globex-token-bbbbbbbbbbbbbb\n${shared}\n`);
    await expectRefused(
      [
        'tenants:',
        '  acme: { basePath: /acme, auth: { tokenFile: acme.tokens } }',
        '  globex: { basePath: /globex, auth: { tokenFile: globex.tokens } }',
      ],
      /tenants\.globex\.auth: a token of it is tenant "acme"'s too/,
    );
    const result = await check(
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

  it('reports an LDAP filter that is none by its path, as the LDAP client reads filters', async () => {
    await expectRefused(
      [
        'sources:',
        '  - type: ldap',
        '    url: ldap://127.0.0.1:3389',
        '    baseDn: dc=example,dc=ch',
        "    filter: '(cn=unclosed'",
      ],
      /- sources\.0\.filter: not an LDAP filter/,
    );
  });
});
