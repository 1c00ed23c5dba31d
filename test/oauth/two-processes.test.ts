import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openTokens, sealTokens } from '../../src/oauth/keeper.js';
import { createSealer } from '../../src/oauth/sealing.js';
import { tenantSecret } from '../../src/secrets.js';
import { openSqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { tempDir } from '../support/helper.js';
import { type FakeAuthorizationServer, startFakeAuthorizationServer } from './fake-authorization-server.js';
import { giveConsent, runLive, SECRET_ENV, testConfig } from './support.js';

const WORKER = resolve(import.meta.dirname, 'refresh-process.ts');

/** A process of refresh-process.ts, with its output by lines. */
function startProcess(file: string, env: Record<string, string>) {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), WORKER, file],
    { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 120_000 },
  );
  const lines: string[] = [];
  const listeners: (() => void)[] = [];
  let buffer = '';
  let errors = '';
  child.stderr.on('data', (chunk) => {
    errors += chunk;
  });
  child.stdout.on('data', (chunk) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop()!;
    lines.push(...parts);
    for (const listener of listeners) listener();
  });
  const exited = new Promise<number | null>((done) => child.on('close', done));
  return {
    child,
    lines,
    exited,
    /** Resolves when a line matching `pattern` was printed. */
    line(pattern: RegExp): Promise<string> {
      return new Promise((done, fail) => {
        const check = () => {
          const found = lines.find((line) => pattern.test(line));
          if (found) done(found);
        };
        listeners.push(check);
        check();
        void exited.then(() => fail(new Error(`exited without ${pattern}: ${lines.join('\n')} ${errors}`)));
      });
    },
  };
}

/**
 * Two processes sharing a tenant's store ask for a connection's token at the same time, when it
 * must be refreshed and the authorization server rotates refresh tokens (each works once): one
 * refreshes, the other waits for the lease and uses what the first saved. The authorization server
 * is the RFC 6749 fake of fake-authorization-server.ts; it holds the first refresh answer until the
 * other process waits for the lease (or, without a lease, sends a second refresh).
 */
describe('two processes refreshing one connection', () => {
  let fake: FakeAuthorizationServer;
  let dir: ReturnType<typeof tempDir>;
  beforeEach(async () => {
    fake = await startFakeAuthorizationServer();
    dir = tempDir();
  });
  afterEach(async () => {
    await fake.close();
    dir.remove();
  });

  it('make one refresh; both use the same new token', { timeout: 120_000 }, async () => {
    const env = { [SECRET_ENV]: fake.clientSecret };
    const { file, config } = testConfig(dir.path, fake);
    const run = runLive(['connect', 'crm', '--config', file], dir.path, env);
    const [consentUrl] = await run.waitFor(/http\S+\/authorize\?\S+/);
    await fetch(await giveConsent(consentUrl));
    expect((await run.done).code).toBe(0);

    // The kept access token has expired.
    const sealer = createSealer(tenantSecret(config.dataDir));
    const store = openSqliteStore(config.dataDir);
    const row = await store.credentials.read('crm');
    const tokens = openTokens(sealer, 'crm', row!.sealed!);
    await store.credentials.save(
      'crm',
      sealTokens(sealer, 'crm', { ...tokens, expiresAt: Date.now() - 1000 }),
    );
    await store.close();

    const processes = [startProcess(file, env), startProcess(file, env)];
    await Promise.all(processes.map((process) => process.line(/^ready$/)));
    let release!: () => void;
    fake.holdRefresh = new Promise((done) => {
      release = done;
    });
    let arrived = 0;
    fake.onRefresh = () => {
      if (++arrived > 1) release();
    };
    void Promise.race(processes.map((process) => process.line(/^waiting$/))).then(() => release());
    for (const process of processes) process.child.stdin.write('go\n');
    const answers = await Promise.all(processes.map((process) => process.line(/^(\{|failed)/)));
    await Promise.all(processes.map((process) => process.exited));

    expect(answers.filter((answer) => answer.startsWith('failed'))).toEqual([]);
    expect(fake.tokenRequests['refresh_token']).toBe(1);
    expect(fake.refreshes).toBe(1);
    const expected = { authorization: `Bearer ${fake.accessTokensIssued[1]}` };
    expect(answers.map((answer) => JSON.parse(answer))).toEqual([expected, expected]);
    expect(processes.some((process) => process.lines.includes('waiting'))).toBe(true);
  });
});
