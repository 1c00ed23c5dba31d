import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI_ARGS } from '../support/cli.js';
import { tempDir } from '../support/helper.js';

// A command loads what it uses: the libraries it does not need stay unloaded, so it starts quickly.

const RECORDER = resolve(import.meta.dirname, '../support/loaded-modules.mjs');

let dir: ReturnType<typeof tempDir>;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.remove());

/** Runs `callcard ARGS` from source in its own process; returns its exit code and the packages it loaded. */
function packagesLoaded(args: readonly string[]): Promise<{ code: number; packages: Set<string> }> {
  const list = join(dir.path, 'loaded.txt');
  writeFileSync(list, '');
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', RECORDER, ...CLI_ARGS, ...args], {
      env: {
        PATH: process.env['PATH'] ?? '',
        LOADED_MODULES_FILE: list,
        CALLCARD_DATA_DIR: join(dir.path, 'data'),
      },
      cwd: dir.path,
      stdio: 'ignore',
      timeout: 60_000,
    });
    child.on('error', fail);
    child.on('close', (code) => {
      const packages = new Set(
        readFileSync(list, 'utf8')
          .split('\n')
          .flatMap((path) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1] ?? []),
      );
      done({ code: code ?? -1, packages });
    });
  });
}

function config(lines: readonly string[]): string {
  const file = join(dir.path, 'callcard.yaml');
  writeFileSync(file, lines.join('\n'));
  return file;
}

const EMBEDDED = ['sources:', '  - type: embedded'];
const LDAP = [
  'sources:',
  '  - type: ldap',
  '    url: ldap://127.0.0.1:3389',
  '    baseDn: dc=example,dc=ch',
  "    filter: '(objectClass=person)'",
];

describe('what a command loads', () => {
  it('help: the command line parser, no config or number library', async () => {
    const { code, packages } = await packagesLoaded(['--help']);
    expect(code).toBe(0);
    expect(packages).toContain('commander');
    for (const name of ['zod', 'yaml', 'libphonenumber-js', 'ldapts', 'pino', 'fastify', 'better-sqlite3'])
      expect(packages, name).not.toContain(name);
  });

  it('calls: the config and the store; number parsing only to mask or filter numbers', async () => {
    const file = config(EMBEDDED);
    const listed = await packagesLoaded(['-c', file, 'calls', '--show-numbers']);
    expect(listed.code).toBe(0);
    expect(listed.packages).toContain('zod');
    expect(listed.packages).toContain('better-sqlite3');
    for (const name of ['libphonenumber-js', 'ldapts', 'pino', 'fastify', 'pg', 'mysql2', 'tsdav'])
      expect(listed.packages, name).not.toContain(name);

    const filtered = await packagesLoaded(['-c', file, 'calls', '--number', '0215522000']);
    expect(filtered.code).toBe(0);
    expect(filtered.packages).toContain('libphonenumber-js');
  });

  it('calls with no call to show, calls purge and outbox: the store without number parsing', async () => {
    const file = config(EMBEDDED);
    for (const args of [['calls'], ['calls', 'purge', '--days', '30'], ['outbox']]) {
      const { code, packages } = await packagesLoaded(['-c', file, ...args]);
      expect(code, args.join(' ')).toBe(0);
      expect(packages, args.join(' ')).toContain('better-sqlite3');
      for (const name of ['libphonenumber-js', 'ldapts', 'pino', 'fastify', 'piscina'])
        expect(packages, `${args.join(' ')}: ${name}`).not.toContain(name);
    }
  });

  it('config check: the LDAP client only when an LDAP source is configured', async () => {
    const without = await packagesLoaded(['config', 'check', config(EMBEDDED)]);
    expect(without.code).toBe(0);
    expect(without.packages).not.toContain('ldapts');

    const withLdap = await packagesLoaded(['config', 'check', config(LDAP)]);
    expect(withLdap.packages).toContain('ldapts');
  });
});
