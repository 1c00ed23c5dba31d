import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/console/password.js';
import { openAdminStore } from '../../src/store/sqlite/admin-store.js';
import { runCli } from '../support/cli.js';
import { tempDir } from '../support/helper.js';

/** The password line the command prints under its message. */
function printedPassword(stdout: string): string {
  const password = /\n {2}(\S+)\n$/.exec(stdout)?.[1];
  if (!password) throw new Error(`no password in ${JSON.stringify(stdout)}`);
  return password;
}

describe('callcard admin', () => {
  let dir: ReturnType<typeof tempDir>;
  let dataDir: string;
  const callcard = (args: string[], env: Record<string, string> = {}) =>
    runCli(args, { env: { CALLCARD_DATA_DIR: dataDir, ...env }, cwd: dir.path });
  const account = async (name: string, at = dataDir) => {
    const store = openAdminStore(at);
    try {
      return await store.account(name);
    } finally {
      await store.close();
    }
  };

  beforeEach(() => {
    dir = tempDir();
    dataDir = join(dir.path, 'data');
  });
  afterEach(() => dir.remove());

  it('adds an account with a one-time password that only its scrypt hash is kept of', async () => {
    const added = await callcard(['admin', 'add', 'alice']);
    expect(added).toMatchObject({ code: 0, stderr: '' });
    const password = printedPassword(added.stdout);
    expect(password).toMatch(/^[\w-]{20}$/);
    const stored = await account('alice');
    expect(stored).toMatchObject({ name: 'alice', role: 'tenant', tenant: 'default', mustChange: true });
    expect(stored!.passwordHash).toMatch(/^scrypt\$32768\$8\$1\$/);
    expect(stored!.passwordHash).not.toContain(password);
    expect(await verifyPassword(password, stored!.passwordHash)).toBe(true);
    expect(await verifyPassword(`${password}x`, stored!.passwordHash)).toBe(false);
  });

  it('refuses a name taken, a bad name and an unknown role', async () => {
    expect((await callcard(['admin', 'add', 'alice'])).code).toBe(0);
    const again = await callcard(['admin', 'add', 'alice']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists already');
    const bad = await callcard(['admin', 'add', 'a b']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('account name');
    const role = await callcard(['admin', 'add', 'bob', '--role', 'root']);
    expect(role.code).not.toBe(0);
    expect(role.stderr).toContain('partner, tenant, read-only');
  });

  it('lists accounts without their passwords, resets and removes them', async () => {
    const first = printedPassword((await callcard(['admin', 'add', 'alice'])).stdout);
    await callcard(['admin', 'add', 'robin', '--role', 'read-only']);
    const listed = await callcard(['admin', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/alice\s+tenant\s+default/);
    expect(listed.stdout).toMatch(/robin\s+read-only\s+default/);
    expect(listed.stdout).not.toContain(first);
    expect(listed.stdout).not.toContain('scrypt');

    const reset = await callcard(['admin', 'reset', 'alice']);
    expect(reset.code).toBe(0);
    const second = printedPassword(reset.stdout);
    const stored = await account('alice');
    expect(await verifyPassword(second, stored!.passwordHash)).toBe(true);
    expect(await verifyPassword(first, stored!.passwordHash)).toBe(false);

    expect((await callcard(['admin', 'remove', 'alice'])).code).toBe(0);
    expect(await account('alice')).toBeUndefined();
    const missing = await callcard(['admin', 'remove', 'alice']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no account "alice"');
  });

  it('with several tenants: tenant accounts in the tenant, partners in the instance', async () => {
    const config = join(dir.path, 'callcard.yaml');
    writeFileSync(
      config,
      `dataDir: ${dataDir}\ntenants:\n  acme:\n    basePath: /acme\n    auth: { tokens: [acme-token-0123456789] }\n` +
        `  globex:\n    basePath: /globex\n    auth: { tokens: [globex-token-0123456789] }\n`,
    );
    const withConfig = (args: string[]) => callcard(['--config', config, ...args]);
    const unnamed = await withConfig(['admin', 'add', 'alice']);
    expect(unnamed.code).toBe(1);
    expect(unnamed.stderr).toContain('--tenant');
    expect((await withConfig(['admin', 'add', 'alice', '--tenant', 'acme'])).code).toBe(0);
    expect((await withConfig(['admin', 'add', 'alice', '--tenant', 'globex'])).code).toBe(0);
    expect((await withConfig(['admin', 'add', 'pat', '--role', 'partner'])).code).toBe(0);
    const scoped = await withConfig(['admin', 'add', 'sam', '--role', 'partner', '--tenant', 'acme']);
    expect(scoped.code).toBe(1);

    expect(await account('alice', join(dataDir, 'acme'))).toMatchObject({ tenant: 'acme' });
    expect(await account('alice', join(dataDir, 'globex'))).toMatchObject({ tenant: 'globex' });
    expect(await account('pat')).toMatchObject({ role: 'partner' });
    expect((await account('pat'))?.tenant).toBeUndefined();

    const ambiguous = await withConfig(['admin', 'reset', 'alice']);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toContain('several tenants');
    expect((await withConfig(['admin', 'remove', 'alice', '--tenant', 'globex'])).code).toBe(0);
    expect(await account('alice', join(dataDir, 'globex'))).toBeUndefined();
    expect(await account('alice', join(dataDir, 'acme'))).toBeDefined();
  });
});
