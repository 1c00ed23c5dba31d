import { type ChildProcess, spawn } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/logging.js';
import { createService, type Service } from '../../src/main.js';
import { CLI_ARGS } from '../support/cli.js';
import { tempDir } from '../support/helper.js';

const ACME = 'acme-token-aaaaaaaaaaaaaaaa';
const GLOBEX = 'globex-token-bbbbbbbbbbbbbb';
const GLOBEX_NEXT = 'globex-token-cccccccccccccc';
const METRICS_TOKEN = 'metrics-token-0123456789';
const NUMBER = '41215522000';
/** Generous: the file is looked at every few seconds, and the machine may be busy. */
const POLL = { timeout: 30_000, interval: 100 };

type Tenants = Record<string, { token: string }>;

/** The config file: each tenant at `/<name>`, with its token and a CSV file of its own as a source. */
function configText(dir: string, tenants: Tenants): string {
  return JSON.stringify({
    dataDir: join(dir, 'data'),
    metrics: { token: METRICS_TOKEN },
    tenants: Object.fromEntries(
      Object.entries(tenants).map(([name, { token }]) => [
        name,
        {
          basePath: `/${name}`,
          auth: { tokens: [token] },
          sources: [{ type: 'file', name: 'office', path: join(dir, `${name}.csv`) }],
        },
      ]),
    ),
  });
}

/** Written whole, then moved over the file: what a reader sees is the old file or the new one. */
function writeWhole(file: string, text: string) {
  writeFileSync(`${file}.next`, text);
  renameSync(`${file}.next`, file);
}

// Each test starts a server, or a process, and waits for files to be looked at: a busy machine takes long.
describe('tenants reloaded from the config file', { timeout: 120_000 }, () => {
  let dir: ReturnType<typeof tempDir>;
  let service: Service | undefined;
  let child: ChildProcess | undefined;
  let lines: string[];
  let file: string;
  let base: string;

  beforeEach(() => {
    dir = tempDir();
    lines = [];
    file = join(dir.path, 'callcard.yaml');
    for (const name of ['acme', 'globex'])
      writeFileSync(
        join(dir.path, `${name}.csv`),
        `id,name,phone\n${name[0]}1,${name} contact,+41 21 552 20 00\n`,
      );
  });
  afterEach(async () => {
    await service?.close();
    service = undefined;
    child?.kill('SIGKILL');
    child = undefined;
    dir.remove();
  });

  async function start(tenants: Tenants) {
    writeWhole(file, configText(dir.path, tenants));
    const load = () => loadConfig({ file, env: {} });
    const config = load();
    const logger = createLogger(config, { destination: { write: (line: string) => void lines.push(line) } });
    service = await createService(config, { logger, startSync: true, configFile: { path: file, load } });
    await service.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(service.app.server.address() as AddressInfo).port}`;
  }

  const lookup = async (path: string, headers: Record<string, string>) => {
    const response = await fetch(`${base}${path}/Lookup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ inputs: { phoneNumber: NUMBER } }),
    });
    return { status: response.status, body: await response.text() };
  };
  /** The contact's name once the tenant's source has had its first sync (or the status). */
  const nameAt = async (path: string, token: string) => {
    const { status, body } = await lookup(path, { 'x-execution-token': token });
    if (status !== 200) return status;
    return (JSON.parse(body) as { name: string }[])[0]?.name ?? 'none yet';
  };
  const logged = (message: RegExp) =>
    lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => message.test(String(entry['msg'])));

  it('serves a tenant added to the file, with its routes and its source, while the others keep answering', async () => {
    await start({ acme: { token: ACME } });
    await expect.poll(() => nameAt('/acme', ACME), POLL).toBe('acme contact');
    expect(await nameAt('/globex', GLOBEX)).toBe(401);

    // acme is asked the whole time the file is read again and globex opened.
    let asking = true;
    const answers: number[] = [];
    const asker = (async () => {
      while (asking) answers.push((await lookup('/acme', { 'x-execution-token': ACME })).status);
    })();
    writeWhole(file, configText(dir.path, { acme: { token: ACME }, globex: { token: GLOBEX } }));
    await expect.poll(() => nameAt('/globex', GLOBEX), POLL).toBe('globex contact');
    asking = false;
    await asker;
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.every((status) => status === 200)).toBe(true);
    // Tokens stay each tenant's own.
    expect(await nameAt('/globex', ACME)).toBe(404);
    expect(await nameAt('/acme', GLOBEX)).toBe(404);
    expect(service!.lastReload).toMatchObject({ ok: true, added: ['globex'], changed: [], removed: [] });
    expect(logged(/tenants reloaded/)).toHaveLength(1);
  });

  it('takes a changed token at once and forgets the old one', async () => {
    await start({ acme: { token: ACME }, globex: { token: GLOBEX } });
    await expect.poll(() => nameAt('/globex', GLOBEX), POLL).toBe('globex contact');
    const before = service!.tenants.find((core) => core.tenant.name === 'globex')!;
    const acmeCore = service!.tenants.find((core) => core.tenant.name === 'acme')!;
    writeWhole(file, configText(dir.path, { acme: { token: ACME }, globex: { token: GLOBEX_NEXT } }));
    expect(await service!.reload()).toMatchObject({ ok: true, changed: ['globex'] });
    expect(await nameAt('/globex', GLOBEX)).toBe(401);
    await expect.poll(() => nameAt('/globex', GLOBEX_NEXT), POLL).toBe('globex contact');
    // acme, unchanged, kept its core; globex's old one is closed once its requests are answered.
    expect(service!.tenants).toContain(acmeCore);
    expect(service!.tenants).not.toContain(before);
    await expect
      .poll(
        () =>
          before.store.calls.get('x').then(
            () => 'open',
            () => 'closed',
          ),
        POLL,
      )
      .toBe('closed');
  });

  it('answers a removed tenant as a path where no tenant is, byte for byte, and closes it', async () => {
    await start({ acme: { token: ACME }, globex: { token: GLOBEX } });
    await expect.poll(() => nameAt('/globex', GLOBEX), POLL).toBe('globex contact');
    const globex = service!.tenants.find((core) => core.tenant.name === 'globex')!;
    writeWhole(file, configText(dir.path, { acme: { token: ACME } }));
    await expect.poll(() => nameAt('/globex', GLOBEX), POLL).toBe(401);
    for (const headers of [
      { 'x-execution-token': GLOBEX },
      { 'x-execution-token': ACME },
      {} as Record<string, string>,
    ]) {
      // Each asked at another unknown path, so that the lock-out of one does not count for the other.
      const gone = await lookup('/globex', headers);
      const nobody = await lookup('/nobody', headers);
      // The same answer, naming the path asked.
      expect(gone).toEqual({ ...nobody, body: nobody.body.replaceAll('/nobody/', '/globex/') });
    }
    expect((await lookup('/globex', { 'x-execution-token': ACME })).status).toBe(404);
    expect(await nameAt('/acme', ACME)).toBe('acme contact');
    await expect
      .poll(
        () =>
          globex.store.calls.get('x').then(
            () => 'open',
            () => 'closed',
          ),
        POLL,
      )
      .toBe('closed');
    expect(service!.tenants.map((core) => core.tenant.name)).toEqual(['acme']);
  });

  it('keeps the running tenants when the new file is wrong, and says why in the log and /readyz', async () => {
    await start({ acme: { token: ACME }, globex: { token: GLOBEX } });
    await expect.poll(() => nameAt('/acme', ACME), POLL).toBe('acme contact');
    const readyz = async () =>
      (
        await fetch(`${base}/readyz`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
      ).json() as Promise<{
        checks: { name: string; ok: boolean; detail?: string }[];
      }>;

    // Not YAML.
    writeWhole(file, 'tenants: [unclosed\n');
    await expect.poll(() => logged(/configuration not reloaded/).length, POLL).toBe(1);
    expect(logged(/configuration not reloaded/)[0]).toMatchObject({ level: 50, file });
    expect(String((logged(/configuration not reloaded/)[0]!['err'] as { message: string }).message)).toMatch(
      /not valid YAML/,
    );
    expect((await readyz()).checks).toContainEqual(
      expect.objectContaining({
        name: 'config reload',
        ok: false,
        detail: expect.stringMatching(/not valid YAML/),
      }),
    );

    // Valid YAML, but one token for two tenants: refused as at the start.
    writeWhole(file, configText(dir.path, { acme: { token: ACME }, globex: { token: ACME } }));
    expect(await service!.reload()).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/is tenant "acme"'s token too/),
    });
    // Against the schema: refused as at the start.
    writeWhole(
      file,
      JSON.stringify({ tenants: { acme: { basePath: '/acme', auth: { tokens: [ACME] }, colour: 'red' } } }),
    );
    expect(await service!.reload()).toMatchObject({ ok: false, reason: expect.stringMatching(/colour/) });
    expect(lines.join('\n')).not.toContain(ACME);

    expect(await nameAt('/acme', ACME)).toBe('acme contact');
    expect(await nameAt('/globex', GLOBEX)).toBe('globex contact');
    expect(service!.tenants.map((core) => core.tenant.name)).toEqual(['acme', 'globex']);

    // Right again: taken, and /readyz says so.
    writeWhole(file, configText(dir.path, { acme: { token: ACME } }));
    expect(await service!.reload()).toMatchObject({ ok: true, removed: ['globex'] });
    expect((await readyz()).checks).toContainEqual({ name: 'config reload', ok: true });
  });

  it('reads the file again on SIGHUP in `callcard serve`', async () => {
    writeWhole(file, configText(dir.path, { acme: { token: ACME } }));
    const proc = spawn(
      process.execPath,
      [...CLI_ARGS, 'serve', '--config', file, '--port', '0', '--host', '127.0.0.1'],
      {
        cwd: dir.path,
        env: { PATH: process.env['PATH'] ?? '' },
      },
    );
    child = proc;
    let banner = '';
    proc.stderr?.on('data', (chunk) => {
      banner += chunk;
    });
    let logs = '';
    proc.stdout?.on('data', (chunk) => {
      logs += chunk;
    });
    await expect.poll(() => /listening on 127\.0\.0\.1:(\d+)/.exec(banner)?.[1], POLL).toBeDefined();
    base = `http://127.0.0.1:${/listening on 127\.0\.0\.1:(\d+)/.exec(banner)![1]}`;
    await expect.poll(() => nameAt('/acme', ACME), POLL).toBe('acme contact');

    writeWhole(file, configText(dir.path, { acme: { token: ACME }, globex: { token: GLOBEX } }));
    proc.kill('SIGHUP');
    await expect.poll(() => nameAt('/globex', GLOBEX), POLL).toBe('globex contact');
    expect(logs).toContain('reloading tokens, certificate and configuration');
    expect(logs).toContain('tenants reloaded');

    const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    child = undefined;
    // A process started from source: slow to start on a busy machine.
  }, 90_000);
});
