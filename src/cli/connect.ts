import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SINGLE_TENANT } from '../config/schema.js';
import { openTenantStore, tenantKey } from '../core/open-store.js';
import { type Connections, createConnections } from '../oauth/connections.js';
import { beginConsent, ConsentError, deviceConsent, finishConsent } from '../oauth/consent.js';
import { createSealer } from '../oauth/sealing.js';
import { connectionsOf } from '../oauth/settings.js';
import { type CommandIo, write } from './io.js';
import { loadTenant, type TenantOptions } from './load.js';
import { quietLogger } from './quiet-logger.js';

export interface ConnectOptions extends TenantOptions {
  /** The device flow (RFC 8628) instead of a redirect. */
  readonly device: boolean;
  /** Seconds to wait for the consent. */
  readonly timeout?: number;
}

/** The redirect when the config sets none: a port of this machine, opened by the command (RFC 8252 7.3). */
const DEFAULT_LOOPBACK = 'http://127.0.0.1:0/oauth/callback';
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** How often the command reads the store while the service finishes the consent. */
const SERVICE_POLL_MS = 500;
/** Requests to the token endpoint made by this command. */
const REQUEST_TIMEOUT_MS = 30_000;
const SERVICE_CALLBACK = /\/oauth\/callback$/;

/**
 * `callcard connect NAME`: asks a person's consent for an OAuth connection (authorization code with
 * PKCE, or the device flow), and keeps its tokens, encrypted, in the tenant's store.
 */
export async function connectCommand(name: string, options: ConnectOptions, io: CommandIo): Promise<void> {
  const { config, tenant } = loadTenant(options, io);
  const configured = connectionsOf(tenant);
  const settings = configured.get(name);
  if (!settings) {
    const names = [...configured.keys()].join(', ');
    throw new Error(
      `no OAuth connection named "${name}" (${names ? `configured: ${names}` : 'none is configured: a source or action with auth type oauth2Code'})`,
    );
  }
  const store = await openTenantStore(tenant);
  try {
    const connections = createConnections({
      store: store.credentials,
      sealer: createSealer(await tenantKey(store)),
      logger: quietLogger(config, io),
      ...(tenant.name !== SINGLE_TENANT && { tenant: tenant.name }),
    });
    connections.auth(settings, { baseDir: tenant.baseDir ?? io.cwd, env: io.env }, REQUEST_TIMEOUT_MS);
    const signal = AbortSignal.timeout((options.timeout ?? 600) * 1000);
    if (options.device) {
      await deviceConsent(
        connections,
        name,
        ({ uri, code, complete }) =>
          void io.stdout.write(
            `To connect ${name}, open ${uri} and enter the code ${code}${complete ? `\n(or open ${complete})` : ''}\n`,
          ),
        signal,
      );
    } else {
      const redirect = new URL(settings.redirectUri ?? DEFAULT_LOOPBACK);
      if (LOOPBACK_HOSTS.has(redirect.hostname)) await viaLoopback(connections, name, redirect, io, signal);
      else await viaService(connections, name, redirect, io, signal);
    }
    await write(io.stdout, `${name}: connected\n`);
  } finally {
    await store.close();
  }
}

async function printConsentUrl(io: CommandIo, name: string, url: URL): Promise<void> {
  await write(
    io.stdout,
    `To connect ${name}, open this address in a browser and give consent:\n${url.href}\n`,
  );
}

/** The browser comes back to a port this command opens on this machine. */
async function viaLoopback(
  connections: Connections,
  name: string,
  redirect: URL,
  io: CommandIo,
  signal: AbortSignal,
): Promise<void> {
  let settle: { done(): void; fail(error: Error): void } | undefined;
  const finished = new Promise<void>((done, fail) => {
    settle = { done, fail };
  });
  let ours: string | undefined;
  const answer = (response: ServerResponse, status: number, text: string) =>
    response
      .writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
      .end(`${text}\n`);
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://loopback');
    if (request.method !== 'GET' || url.pathname !== redirect.pathname)
      return answer(response, 404, 'not found');
    // A request that is not the answer to this consent (another state) is refused, and the command waits on.
    if (url.searchParams.get('state') !== ours) return answer(response, 400, 'unknown state');
    finishConsent(connections, url.searchParams).then(
      () => {
        answer(response, 200, `callcard: ${name} is connected. This page can be closed.`);
        settle?.done();
      },
      (error: Error) => {
        answer(
          response,
          400,
          `callcard: ${error instanceof ConsentError ? error.message : 'consent failed'}`,
        );
        settle?.fail(error);
      },
    );
  });
  const host = redirect.hostname === '[::1]' ? '::1' : redirect.hostname;
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(Number(redirect.port || 80), host, done);
  });
  try {
    const used = new URL(redirect);
    used.port = String((server.address() as AddressInfo).port);
    const { url, state } = await beginConsent(connections, name, used.href);
    ours = state;
    await printConsentUrl(io, name, url);
    await new Promise<void>((done, fail) => {
      const stop = () => fail(new ConsentError(`no consent for ${name} in time`));
      if (signal.aborted) return stop();
      signal.addEventListener('abort', stop, { once: true });
      finished.then(done, fail).finally(() => signal.removeEventListener('abort', stop));
    });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((done) => server.close(() => done()));
  }
}

/** The browser comes back to the running service's `<base path>/oauth/callback`, which keeps the tokens. */
async function viaService(
  connections: Connections,
  name: string,
  redirect: URL,
  io: CommandIo,
  signal: AbortSignal,
): Promise<void> {
  if (!SERVICE_CALLBACK.test(redirect.pathname)) {
    throw new Error(
      `auth.redirectUri of ${name} must be the service's <publicUrl><basePath>/oauth/callback, or http://127.0.0.1:PORT/PATH for a port of this command`,
    );
  }
  const started = Date.now();
  const { url } = await beginConsent(connections, name, redirect.href);
  await printConsentUrl(io, name, url);
  await write(io.stdout, `Waiting for the service at ${redirect.origin} to receive the consent...\n`);
  for (;;) {
    const row = await connections.store.read(name);
    if (row?.sealed !== undefined && row.updatedAt >= started) return;
    try {
      await sleep(SERVICE_POLL_MS, undefined, { signal });
    } catch {
      throw new ConsentError(`no consent for ${name} in time`);
    }
  }
}
