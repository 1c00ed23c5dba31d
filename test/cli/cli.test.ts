import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI_ARGS, runCli, spawnCli } from '../support/cli.js';
import { tempDir } from '../support/helper.js';
import { selfSignedCertificate } from '../support/tls.js';

/** The command line, run in this process with only PATH and `env` in its environment. */
function callcard(args: string[], env: Record<string, string> = {}, cwd?: string) {
  return runCli(args, { env, ...(cwd && { cwd }) });
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? done(address.port) : fail(new Error('no port')),
      );
    });
  });
}

describe('callcard CLI', () => {
  let dir: ReturnType<typeof tempDir>;
  let child: ChildProcess | undefined;
  beforeEach(() => {
    dir = tempDir();
  });
  afterEach(() => {
    child?.kill('SIGKILL');
    child = undefined;
    dir.remove();
  });

  /** `callcard serve` in the test's folder, once its banner (stderr) matches `ready` or 60 s have passed (a busy machine). */
  async function serve(args: string[], ready: RegExp) {
    const proc = spawn(process.execPath, [...CLI_ARGS, 'serve', ...args], {
      cwd: dir.path,
      env: { PATH: process.env['PATH'] ?? '' },
    });
    child = proc;
    let banner = '';
    proc.stderr?.on('data', (chunk) => {
      banner += chunk;
    });
    const logs: string[] = [];
    proc.stdout?.on('data', (chunk) => logs.push(String(chunk)));
    const deadline = Date.now() + 60_000;
    while (!ready.test(banner) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    /** SIGTERM, then the exit code. */
    const stop = async () => {
      const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
      proc.kill('SIGTERM');
      const code = await exited;
      child = undefined;
      return code;
    };
    return { proc, banner, logs, stop };
  }

  it('imports CSV, reports skipped rows with their line numbers, and re-imports by id', async () => {
    const csv = join(dir.path, 'contacts.csv');
    writeFileSync(
      csv,
      'id,name,phone\n1,Alexa,021 552 20 00\n2,,\n3,Bruno,not a number\n4,Carla,079 123 45 67\n',
    );
    const env = { CALLCARD_DATA_DIR: join(dir.path, 'data') };
    const first = await callcard(['import', csv], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      /imported 2 of 4 entries into "contacts"; 2 skipped; 2 contacts in the source/,
    );
    expect(first.stderr).toContain(`${csv}:3: skipped: no name and no company`);
    expect(first.stderr).toContain(`${csv}:4: skipped: no usable phone number`);
    const again = await callcard(['import', csv], env);
    expect(again.stdout).toMatch(/2 contacts in the source/);
    writeFileSync(csv, 'id,name,phone\n9,Zed,021 000 00 00\n');
    const replaced = await callcard(['import', '--replace', csv], env);
    expect(replaced.code).toBe(0);
    expect(replaced.stdout).toMatch(/\(replacing all\).*1 contacts in the source/);
  });

  it('fails with a clear message for a file it cannot read', async () => {
    const result = await callcard(['import', join(dir.path, 'nope.csv')], { CALLCARD_DATA_DIR: dir.path });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/nope\.csv: cannot be read/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('says how to keep importing when the sources listed leave out the embedded one', async () => {
    const config = join(dir.path, 'callcard.yaml');
    writeFileSync(config, 'sources:\n  - type: file\n    name: office\n    path: office.csv\n');
    const csv = join(dir.path, 'contacts.csv');
    writeFileSync(csv, 'id,name,phone\n1,Alexa,021 552 20 00\n');
    const result = await callcard(['import', '--config', config, csv], { CALLCARD_DATA_DIR: dir.path });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no embedded source is configured: .*add `- type: embedded`/);
  });

  it('stops on a bad config with every problem listed', async () => {
    const config = join(dir.path, 'bad.yaml');
    writeFileSync(config, 'port: -1\nregion: Mars\n');
    const result = await callcard(['serve', '--config', config]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/invalid configuration/);
    expect(result.stderr).toMatch(/- port: /);
    expect(result.stderr).toMatch(/- region: /);
  });

  it('serves on --port, prints the token with the URL and header name, and answers with it', async () => {
    const port = await freePort();
    const csv = join(dir.path, 'c.csv');
    writeFileSync(csv, 'id,name,company,phone\nx1,Alexa Holiday,White Cross Co,+41 21 552 20 00\n');
    expect((await callcard(['import', csv], {}, dir.path)).code).toBe(0);
    const { banner, logs, stop } = await serve(
      ['--port', String(port), '--host', '127.0.0.1'],
      /Header value:/,
    );
    expect(banner).toContain(`Root URL:      http://127.0.0.1:${port}`);
    expect(banner).toContain('Header name:   X-Execution-Token');
    const token = /Header value:\s+(\S+)/.exec(banner)?.[1];
    expect(token).toMatch(/^[\w-]{32}$/);

    const response = await fetch(`http://127.0.0.1:${port}/Lookup`, {
      method: 'POST',
      headers: { 'X-Execution-Token': token!, 'Content-Type': 'application/json' },
      body: JSON.stringify({ inputs: { phoneNumber: '41215522000' } }),
    });
    expect(response.status).toBe(200);
    const [contact] = (await response.json()) as { name: string }[];
    expect(contact?.name).toBe('Alexa Holiday');

    expect(await stop()).toBe(0);
    expect(logs.join('')).toContain('"msg":"request"');
    expect(logs.join('')).not.toContain(token!);
  });

  /** Whether a TCP connection to host:port is taken. */
  const reachable = (host: string, port: number) =>
    new Promise<boolean>((done) => {
      const socket = connect({ host, port });
      socket.once('connect', () => {
        socket.destroy();
        done(true);
      });
      socket.once('error', () => done(false));
    });

  // Several processes start one after the other: the bound is for a busy machine, not a measure.
  it('says what it really exposes, and keeps the metrics and console ports on this machine', async () => {
    const [port, metricsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
    const config = join(dir.path, 'callcard.yaml');
    writeFileSync(
      config,
      [
        `port: ${port}`,
        'host: 0.0.0.0',
        `dataDir: ${join(dir.path, 'data')}`,
        `metrics: { port: ${metricsPort} }`,
        `admin: { port: ${adminPort} }`,
      ].join('\n'),
    );
    const served = await serve(['--config', config], /Try it/);
    expect(served.banner).toContain(
      `listening on 0.0.0.0:${port} (every network interface of this machine), plain HTTP`,
    );
    expect(served.banner).not.toContain('listening on http://127.0.0.1');
    expect(served.banner).toContain(
      `Prometheus metrics at http://127.0.0.1:${metricsPort}/metrics: 127.0.0.1:${metricsPort} (this machine only), plain HTTP`,
    );
    expect(served.banner).toContain(`Consoles on their own port: 127.0.0.1:${adminPort} (this machine only)`);
    expect(served.banner).toContain(`Console: http://127.0.0.1:${adminPort}/admin`);
    expect(await reachable('127.0.0.1', metricsPort)).toBe(true);
    expect(await reachable('127.0.0.1', adminPort)).toBe(true);
    // From another address of this machine: the API answers, the metrics port does not.
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((entry) => entry && entry.family === 'IPv4' && !entry.internal)?.address;
    if (outside) {
      expect(await reachable(outside, port)).toBe(true);
      expect(await reachable(outside, metricsPort)).toBe(false);
      expect(await reachable(outside, adminPort)).toBe(false);
    } else {
      console.warn('no address but loopback on this machine: the metrics port was checked on loopback only');
    }
    expect(await served.stop()).toBe(0);
  }, 90_000);

  // Several processes start one after the other: the bound is for a busy machine, not a measure.
  it("runs the container's health check against an HTTPS instance", async () => {
    // The HEALTHCHECK of the Containerfile, as the container runs it (in /app, from the environment).
    const containerfile = readFileSync(resolve(import.meta.dirname, '../../Containerfile'), 'utf8');
    const command = /^\s*CMD (\[.*\])\s*$/m.exec(containerfile.split('HEALTHCHECK')[1] ?? '')?.[1];
    const [program, ...args] = JSON.parse(command ?? '[]') as string[];
    expect(program).toBe('node');
    // The image runs the built entry point; here the same command line runs from source.
    expect(args).toEqual(['dist/cli/index.js', 'health']);
    selfSignedCertificate(dir.path, 'tls', 'lookup.example.ch');
    const port = await freePort();
    const config = join(dir.path, 'callcard.yaml');
    writeFileSync(
      config,
      [
        `port: ${port}`,
        'host: 0.0.0.0',
        `dataDir: ${join(dir.path, 'data')}`,
        'tls: { cert: tls.crt, key: tls.key }',
      ].join('\n'),
    );
    const healthCheck = () =>
      spawnCli(args.slice(1), {
        cwd: resolve(import.meta.dirname, '../..'),
        env: { CALLCARD_CONFIG: config },
      });
    const served = await serve(['--config', config], /Try it/);
    expect(served.banner).toContain('HTTPS');
    const up = await healthCheck();
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(await served.stop()).toBe(0);
    const down = await healthCheck();
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/ECONNREFUSED/);
  }, 90_000);

  describe('with tenants', () => {
    const writeConfig = (port: number) => {
      writeFileSync(join(dir.path, 'acme.tokens'), 'acme-token-aaaaaaaaaaaaaaaa\n');
      const file = join(dir.path, 'callcard.yaml');
      writeFileSync(
        file,
        [
          `port: ${port}`,
          'host: 127.0.0.1',
          `dataDir: ${join(dir.path, 'data')}`,
          'tenants:',
          '  acme: { basePath: /acme, auth: { tokenFile: acme.tokens } }',
          '  globex: { basePath: /globex, region: DE }',
        ].join('\n'),
      );
      return file;
    };

    it('imports and looks up per tenant with --tenant, and asks for it when it is missing', async () => {
      const config = writeConfig(8080);
      const csv = join(dir.path, 'c.csv');
      writeFileSync(csv, 'id,name,phone\nx1,Anna Acme,+41 21 552 20 00\n');
      expect((await callcard(['--config', config, '--tenant', 'acme', 'import', csv])).code).toBe(0);
      const acme = await callcard(['--config', config, '--tenant', 'acme', 'lookup', '41215522000']);
      expect(acme.stdout).toContain('Anna Acme');
      const globex = await callcard(['--config', config, '--tenant', 'globex', 'lookup', '41215522000']);
      expect(globex.code).toBe(0);
      expect(globex.stdout).not.toContain('Anna Acme');
      const missing = await callcard(['--config', config, 'sources']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(
        'several tenants are configured: name one with --tenant (acme, globex)',
      );
      const unknown = await callcard(['--config', config, '--tenant', 'initech', 'sources']);
      expect(unknown.stderr).toContain('no tenant named "initech"');
    });

    it('serves every tenant, prints each one’s settings, and reloads token files on SIGHUP', async () => {
      const port = await freePort();
      const config = writeConfig(port);
      const { proc, banner, stop } = await serve(['--config', config], /Tenant globex:[\s\S]*Try it/);
      expect(banner).toContain('for 2 tenants');
      expect(banner).toContain(`Root URL:      http://127.0.0.1:${port}/acme`);
      expect(banner).toContain(`Root URL:      http://127.0.0.1:${port}/globex`);
      // acme's tokens come from its file and are not printed; globex got a generated one.
      expect(banner).not.toContain('acme-token-aaaaaaaaaaaaaaaa');
      const globexToken = /Tenant globex:[\s\S]*?Header value:\s+(\S+)/.exec(banner)?.[1];
      expect(globexToken).toMatch(/^[\w-]{32}$/);

      const lookup = (path: string, token: string) =>
        fetch(`http://127.0.0.1:${port}${path}/Lookup`, {
          method: 'POST',
          headers: { 'X-Execution-Token': token, 'Content-Type': 'application/json' },
          body: JSON.stringify({ inputs: { phoneNumber: '41215522000' } }),
        }).then((response) => response.status);
      expect(await lookup('/acme', 'acme-token-aaaaaaaaaaaaaaaa')).toBe(200);
      // globex's token at acme's path: as where no tenant is.
      expect(await lookup('/acme', globexToken!)).toBe(404);
      expect(await lookup('/acme', 'wrong-token-cccccccccccccc')).toBe(401);
      expect(await lookup('/globex', globexToken!)).toBe(200);

      writeFileSync(join(dir.path, 'acme.tokens'), 'acme-token-bbbbbbbbbbbbbbbb\n');
      proc.kill('SIGHUP');
      await expect
        .poll(() => lookup('/acme', 'acme-token-bbbbbbbbbbbbbbbb'), { timeout: 30_000, interval: 100 })
        .toBe(200);
      expect(await lookup('/acme', 'acme-token-aaaaaaaaaaaaaaaa')).toBe(401);

      expect(await stop()).toBe(0);
    }, 120_000);
  });
});
