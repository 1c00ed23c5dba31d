import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readOptionalSecret } from '../../src/config/secret-fields.js';
import {
  AnswerTooLarge,
  type Auth,
  createHttpClient,
  NO_AUTH,
  RedirectRefused,
  readText,
  retryAfterMs,
  sendWithAuth,
} from '../../src/net/http-client.js';
import { download, remoteOf, remoteVersion } from '../../src/sources/file/http.js';
import { raceAbort } from '../../src/util/abort.js';

// The shared outbound HTTP client (net/http-client.ts) against real local servers.

type Handler = (request: IncomingMessage, response: ServerResponse) => void;
const servers: Server[] = [];

async function serve(handler: Handler): Promise<{ url: string; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((request, response) => {
    seen.push(request);
    handler(request, response);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const get = (url: string, headers: Record<string, string> = {}) => ({
  method: 'GET',
  url: new URL(url),
  headers,
});

/** A token auth that counts its renewals. */
function countingAuth() {
  let token = 1;
  let renewals = 0;
  const auth: Auth = {
    headers: async () => ({ authorization: `Bearer t${token}` }),
    rejected: () => {
      renewals++;
      token++;
      return true;
    },
  };
  return { auth, renewals: () => renewals };
}

describe('sendWithAuth', () => {
  it('does not follow a redirect under the error policy: RedirectRefused with its status', async () => {
    const target = await serve((_, response) => response.writeHead(302, { location: '/elsewhere' }).end());
    const sent = sendWithAuth(NO_AUTH, get(`${target.url}/a`), new AbortController().signal, 'error');
    await expect(sent).rejects.toBeInstanceOf(RedirectRefused);
    await expect(sent).rejects.toMatchObject({ status: 302 });
    expect(target.seen).toHaveLength(1);
  });

  it('follows a redirect on the same origin, and refuses one to another origin without sending to it', async () => {
    const other = await serve((_, response) => response.end('other'));
    const target = await serve((request, response) => {
      if (request.url === '/a') response.writeHead(301, { location: '/b' }).end();
      else if (request.url === '/b') response.end('here');
      else response.writeHead(307, { location: `${other.url}/x` }).end();
    });
    const signal = new AbortController().signal;
    const followed = await sendWithAuth(NO_AUTH, get(`${target.url}/a`), signal, 'follow-same-origin');
    expect(await followed.text()).toBe('here');
    const away = sendWithAuth(NO_AUTH, get(`${target.url}/c`), signal, 'follow-same-origin');
    await expect(away).rejects.toMatchObject({ name: 'RedirectRefused', to: other.url });
    expect(other.seen).toHaveLength(0);
  });

  it('renews the credentials once on 401 and sends again; a second 401 is the answer', async () => {
    const target = await serve((request, response) =>
      response.writeHead(request.headers.authorization === 'Bearer t2' ? 200 : 401).end(),
    );
    const once = countingAuth();
    const ok = await sendWithAuth(once.auth, get(target.url), new AbortController().signal, 'error');
    expect(ok.status).toBe(200);
    expect(once.renewals()).toBe(1);

    const never = await serve((_, response) => response.writeHead(401).end());
    const twice = countingAuth();
    const refused = await sendWithAuth(twice.auth, get(never.url), new AbortController().signal, 'error');
    expect(refused.status).toBe(401);
    expect(twice.renewals()).toBe(1);
    expect(never.seen).toHaveLength(2);
  });

  it('ends with the reason of a cancelled call', async () => {
    const target = await serve(() => {}); // never answers
    const controller = new AbortController();
    const reason = new Error('shutting down');
    const sent = sendWithAuth(NO_AUTH, get(target.url), controller.signal, 'error');
    await expect.poll(() => target.seen.length).toBe(1);
    controller.abort(reason);
    await expect(sent).rejects.toBe(reason);
  });
});

describe('answer size limit', () => {
  it('stops reading an answer larger than the limit, with or without Content-Length', async () => {
    const big = 'x'.repeat(64 * 1024);
    const target = await serve((request, response) => {
      if (request.url === '/sized')
        response.writeHead(200, { 'content-length': String(big.length) }).end(big);
      else {
        // Chunked: no length told in advance.
        for (let i = 0; i < 4; i++) response.write(big.slice(0, 16 * 1024));
        response.end();
      }
    });
    const signal = new AbortController().signal;
    const sized = await sendWithAuth(NO_AUTH, get(`${target.url}/sized`), signal, 'error');
    await expect(readText(sized, 1024)).rejects.toBeInstanceOf(AnswerTooLarge);
    const chunked = await sendWithAuth(NO_AUTH, get(`${target.url}/chunked`), signal, 'error');
    await expect(readText(chunked, 20 * 1024)).rejects.toBeInstanceOf(AnswerTooLarge);
    const fits = await sendWithAuth(NO_AUTH, get(`${target.url}/chunked`), signal, 'error');
    expect(await readText(fits, 64 * 1024)).toHaveLength(64 * 1024);
  });

  it('a JSON client fails a request whose answer is larger than its limit, naming the operation', async () => {
    const target = await serve((_, response) =>
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ pad: 'x'.repeat(4096) })),
    );
    const client = createHttpClient({ auth: NO_AUTH, headers: {}, timeoutMs: 10_000, maxBytes: 1024 });
    const sent = client.send(
      { method: 'GET', url: new URL(target.url), headers: {}, what: 'search (GET /)' },
      new AbortController().signal,
      false,
    );
    await expect(sent).rejects.toMatchObject({
      name: 'RestRequestError',
      message: expect.stringMatching(/^search \(GET \/\): the answer is larger than/),
    });
  });
});

describe('a JSON client with a rate limit', () => {
  const limited = (retryAfter: string | undefined, status = 429) => {
    let asked = 0;
    return serve((_, response) => {
      if (asked++ === 0) {
        response.writeHead(status, retryAfter === undefined ? {} : { 'retry-after': retryAfter }).end();
      } else response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  };
  const send = (
    client: ReturnType<typeof createHttpClient>,
    url: string,
    signal = new AbortController().signal,
  ) => client.send({ method: 'GET', url: new URL(url), headers: {}, what: 'list page 1' }, signal, false);

  it('waits out a 429 (Retry-After, else a second) or a 503 that says when, and asks again', async () => {
    const client = createHttpClient({
      auth: NO_AUTH,
      headers: {},
      timeoutMs: 10_000,
      rateLimit: { tries: 2, maxWaitMs: 5000 },
    });
    for (const [retryAfter, status] of [
      ['1', 429],
      [undefined, 429],
      ['1', 503],
    ] as const) {
      const target = await limited(retryAfter, status);
      expect((await send(client, target.url)).json).toEqual({ ok: true });
      expect(target.seen).toHaveLength(2);
    }
  });

  it('fails at once without the setting, for a wait beyond the longest, and for a 503 without Retry-After', async () => {
    const plain = createHttpClient({ auth: NO_AUTH, headers: {}, timeoutMs: 10_000 });
    const patient = createHttpClient({
      auth: NO_AUTH,
      headers: {},
      timeoutMs: 10_000,
      rateLimit: { tries: 2, maxWaitMs: 5000 },
    });
    const cases = [
      [plain, await limited('1'), /list page 1: HTTP 429 Too Many Requests \(retry after 1 s\)/],
      [patient, await limited('60'), /HTTP 429 Too Many Requests \(retry after 60 s\)/],
      [patient, await limited(undefined, 503), /HTTP 503 Service Unavailable$/],
    ] as const;
    for (const [client, target, message] of cases) {
      await expect(send(client, target.url)).rejects.toMatchObject({
        message: expect.stringMatching(message),
      });
      expect(target.seen).toHaveLength(1);
    }
  });

  it("a wait cut off by the caller ends with the caller's reason, and asks nothing more", async () => {
    const client = createHttpClient({
      auth: NO_AUTH,
      headers: {},
      timeoutMs: 10_000,
      rateLimit: { tries: 2, maxWaitMs: 600_000 },
    });
    const target = await limited('300');
    const controller = new AbortController();
    const sent = send(client, target.url, controller.signal);
    await expect.poll(() => target.seen.length).toBe(1);
    const reason = new Error('shutting down');
    controller.abort(reason);
    await expect(sent).rejects.toBe(reason);
    expect(target.seen).toHaveLength(1);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates, caps them, ignores nonsense', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Thu, 01 Jan 2026 00:01:00 GMT', now)).toBe(60_000);
    expect(retryAfterMs(String(30 * 24 * 3600), now)).toBe(6 * 3600_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs('-5', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});

describe('file URLs through the shared client', () => {
  it('a URL sent with headers is not redirected to another origin (its key stays home)', async () => {
    const other = await serve((_, response) => response.end('name,phone\n'));
    const target = await serve((_, response) =>
      response.writeHead(302, { location: `${other.url}/f.csv` }).end(),
    );
    const remote = remoteOf(`${target.url}/f.csv`, { 'X-Api-Key': 'secret-key-1' });
    const signal = new AbortController().signal;
    await expect(download(remote, signal, 1024 * 1024)).rejects.toThrow(/another origin; not followed/);
    await expect(remoteVersion(remote, signal)).rejects.toThrow(/another origin; not followed/);
    expect(other.seen).toHaveLength(0);
  });

  it('a public URL (no headers) follows its redirect to another host, as before', async () => {
    // HEAD only: a download here would make a temporary file that the file source's tests count.
    const other = await serve((_, response) => response.writeHead(200, { etag: '"v1"' }).end());
    const target = await serve((_, response) =>
      response.writeHead(302, { location: `${other.url}/f.csv` }).end(),
    );
    const version = await remoteVersion(remoteOf(`${target.url}/f.csv`), new AbortController().signal);
    expect(version).toBe('etag "v1"');
    expect(other.seen).toHaveLength(1);
  });
});

describe('raceAbort', () => {
  it('settles with the work, or with the reason once aborted (stopping the work)', async () => {
    expect(await raceAbort(new AbortController().signal, Promise.resolve(7))).toBe(7);
    const controller = new AbortController();
    let stopped = 0;
    const raced = raceAbort(controller.signal, new Promise(() => {}), { onAbort: () => stopped++ });
    controller.abort(new Error('cut'));
    await expect(raced).rejects.toThrow('cut');
    expect(stopped).toBe(1);
    await expect(raceAbort(controller.signal, Promise.resolve(1))).rejects.toThrow('cut');
  });
});

describe('one secret reader', () => {
  const baseDir = mkdtempSync(join(tmpdir(), 'callcard-secret-'));
  writeFileSync(join(baseDir, 'pw'), 's3cret-file\n');

  it('reads x, xEnv (trimmed) or xFile (relative to the config), and refuses two at once', () => {
    const context = { baseDir, env: { DB_PW: ' s3cret-env ' } };
    expect(readOptionalSecret({ password: 'inline' }, 'password', context)).toBe('inline');
    expect(readOptionalSecret({ passwordEnv: 'DB_PW' }, 'password', context)).toBe('s3cret-env');
    expect(readOptionalSecret({ passwordFile: 'pw' }, 'password', context)).toBe('s3cret-file');
    expect(readOptionalSecret({}, 'password', context)).toBeUndefined();
    expect(() =>
      readOptionalSecret({ passwordEnv: 'DB_PW', passwordFile: 'pw' }, 'password', context),
    ).toThrow('give only one of passwordEnv, passwordFile');
    expect(() => readOptionalSecret({ passwordEnv: 'NOPE' }, 'password', context)).toThrow(
      'passwordEnv: environment variable NOPE is not set',
    );
  });
});
