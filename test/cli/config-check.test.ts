import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../helper.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli/index.js');

function check(file: string, env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, 'config', 'check', file], {
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', ...env },
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('callcard config check', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  const write = (yaml: string) => {
    const file = join(dir.path, 'callcard.yaml');
    writeFileSync(file, yaml);
    return file;
  };

  it('says a valid config is valid, with its sources and workflows, and starts nothing', () => {
    const file = write(
      [
        `dataDir: ${join(dir.path, 'data')}`,
        'sources:',
        '  - type: embedded',
        '  - { type: file, name: office, path: office.csv }',
        'workflows:',
        '  CreateTicket: { actions: [{ type: webhook, url: "https://hooks.example/t" }] }',
      ].join('\n'),
    );
    const result = check(file);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('valid');
    expect(result.stdout).toContain('contacts (embedded), office (file)');
    expect(result.stdout).toContain('workflows: CallFlow, CreateTicket');
    expect(existsSync(join(dir.path, 'data'))).toBe(false);
  });

  it('lists every problem by path, schema and secrets alike, with exit code 2', () => {
    const file = write(
      [
        'port: 70000',
        'sources:',
        '  - type: embedded',
        '  - type: rest',
        '    name: crm',
        '    auth: { type: bearer, tokenEnv: CRM_TOKEN_FOR_CHECK }',
        '    list: { request: { url: "https://crm.example/contacts" } }',
      ].join('\n'),
    );
    const schema = check(file);
    expect(schema.code).toBe(2);
    expect(schema.stderr).toMatch(/- port: /);
    const fixed = write(
      [
        'sources:',
        '  - type: embedded',
        '  - type: rest',
        '    name: crm',
        '    auth: { type: bearer, tokenEnv: CRM_TOKEN_FOR_CHECK }',
        '    list: { request: { url: "https://crm.example/contacts" } }',
      ].join('\n'),
    );
    const secret = check(fixed);
    expect(secret.code).toBe(2);
    expect(secret.stderr).toMatch(/sources\.1 \(crm\): .*CRM_TOKEN_FOR_CHECK is not set/);
    expect(check(fixed, { CRM_TOKEN_FOR_CHECK: 'a-token-that-is-long-enough' }).code).toBe(0);
  });
});

describe('callcard config check with tenants', () => {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => dir.remove());

  it('describes each tenant, and reports problems by their path in the file', () => {
    const file = join(dir.path, 'callcard.yaml');
    writeFileSync(
      file,
      [
        `dataDir: ${join(dir.path, 'data')}`,
        'tenants:',
        '  acme: { basePath: /acme }',
        '  globex: { basePath: /globex, workflows: { Ticket: { actions: [] } } }',
      ].join('\n'),
    );
    const ok = check(file);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('tenant acme:');
    expect(ok.stdout).toContain('serves /globex/Lookup');
    expect(ok.stdout).toContain('workflows: CallFlow, Ticket');

    writeFileSync(
      file,
      [
        'tenants:',
        '  acme: { basePath: /acme, auth: { tokenFile: missing.tokens } }',
        '  globex: { basePath: /globex, region: Mars }',
      ].join('\n'),
    );
    const bad = check(file);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/tenants\.globex\.region: /);
    writeFileSync(
      file,
      ['tenants:', '  acme: { basePath: /acme }', '  globex: { basePath: /acme/x }'].join('\n'),
    );
    const overlapping = check(file);
    expect(overlapping.code).toBe(2);
    expect(overlapping.stderr).toMatch(/tenants\.globex\.basePath: overlaps tenant "acme"/);

    writeFileSync(
      file,
      ['tenants:', '  acme: { basePath: /acme, auth: { tokenFile: missing.tokens } }'].join('\n'),
    );
    const unreadable = check(file);
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toMatch(/auth: .*missing\.tokens/);
  });
});
