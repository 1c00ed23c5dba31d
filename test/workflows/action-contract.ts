import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Action, DeliveryError } from '../../src/workflows/actions/types.js';

/**
 * The cases every workflow action passes, as the outbox uses it: run its deliveries (again after a
 * crash), cut attempts off, and close it. Run it from the action's test file with a target of its own;
 * an action may skip a named case only with a written reason.
 */

export const CASES = [
  'the same delivery twice gives one record and the same result',
  'a cancelled attempt ends with its reason',
  'a target that is down gives a retryable error',
  'a target that does not answer in time gives a retryable error',
  'a refusal (a 4xx, a constraint violation) is a permanent error',
  'a 401 renews the credentials once and the delivery is made',
  'a redirect is a permanent error with its reason, not followed',
  'closing twice is safe',
] as const;

export type CaseName = (typeof CASES)[number];

export interface ActionTarget {
  /** The action, delivering to a target that takes it. */
  readonly action: Action;
  /** The records the target holds (the suite delivers one call). */
  records(): Promise<number>;
  /**
   * The same action configured for a server at 127.0.0.1:`port` (one that is down, or never
   * answers), with an attempt time limit of its own of `timeoutMs`.
   */
  at?(port: number, timeoutMs?: number): Action;
  /** An action to a target that is down, for actions without a port (SQLite: a file it cannot open). */
  down?(): Action;
  /** An action whose delivery the target refuses for good. */
  refused?(): Promise<Action>;
  /** An action whose target answers the first credentials with 401; `renewals` counts new ones. */
  renewal?(): Promise<{ readonly action: Action; renewals(): number }>;
  /** An action whose target answers with a redirect. */
  redirect?(): Promise<Action>;
  teardown?(): Promise<void>;
}

export interface ActionContractOptions {
  /** Cases this action cannot have, each with why. */
  readonly skip?: Partial<Record<CaseName, string>>;
}

export const PAYLOAD = {
  workflow: 'CallFlow',
  callId: 'DL9nRm1DLM61yWcRVfrxkQ',
  call: {
    callId: 'DL9nRm1DLM61yWcRVfrxkQ',
    originatorNumber: '41215522000',
    destinationNumber: '41445556677',
    direction: 'incoming',
    status: 'answered',
    startedTime: '2026-11-26T10:00:00Z',
    answeredTime: '2026-11-26T10:00:05Z',
    endedTime: '2026-11-26T10:02:05Z',
    durationSeconds: 120,
  },
  contact: null,
};

const DELIVERY = 'CallFlow:DL9nRm1DLM61yWcRVfrxkQ:0';

const attempt = (action: Action, signal: AbortSignal = new AbortController().signal) =>
  action.run(PAYLOAD, { signal, deliveryId: DELIVERY, attempt: 1 });

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('the attempt succeeded');
    },
    (error: unknown) => error,
  );
}

/** A TCP server that takes connections and never answers; counts them. */
export async function silentServer() {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  let seen = 0;
  server.on('connection', () => seen++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (taken, then given back). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function actionContract(
  name: string,
  make: () => Promise<ActionTarget>,
  options: ActionContractOptions = {},
): void {
  describe(`action contract: ${name}`, () => {
    let target: ActionTarget;
    const opened: Action[] = [];
    const keep = (action: Action) => {
      opened.push(action);
      return action;
    };
    beforeEach(async () => {
      target = await make();
      opened.push(target.action);
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((action) => action.close?.()));
      await target?.teardown?.();
    });

    const test = (name: CaseName, body: () => Promise<void>) => {
      const reason = options.skip?.[name];
      if (reason) it.skip(`${name} (skipped: ${reason})`, body);
      else it(name, body);
    };

    test('the same delivery twice gives one record and the same result', async () => {
      const first = await attempt(target.action);
      const again = await attempt(target.action);
      expect(again).toEqual(first);
      expect(first.id).toBeTruthy();
      expect(await target.records()).toBe(1);
    });

    test('a cancelled attempt ends with its reason', async () => {
      const silent = await silentServer();
      try {
        const action = keep(target.at!(silent.port));
        const controller = new AbortController();
        const running = failureOf(attempt(action, controller.signal));
        await expect.poll(() => silent.connections(), { timeout: 10_000 }).toBeGreaterThan(0);
        const reason = new Error('callcard is stopping');
        controller.abort(reason);
        const error = await running;
        // The reason itself, or a retryable failure that says the attempt was cut off.
        if (error !== reason) {
          expect(error).toBeInstanceOf(DeliveryError);
          expect((error as DeliveryError).permanent).toBe(false);
          expect((error as Error).message).toMatch(/cancelled|callcard is stopping/);
        }
      } finally {
        await silent.close();
      }
    });

    test('a target that is down gives a retryable error', async () => {
      const action = keep(target.down ? target.down() : target.at!(await closedPort()));
      const error = await failureOf(attempt(action));
      expect(error).toBeInstanceOf(DeliveryError);
      expect((error as DeliveryError).permanent).toBe(false);
    });

    test('a target that does not answer in time gives a retryable error', async () => {
      const silent = await silentServer();
      try {
        // The action's own time limit (the outbox's, cutting the attempt off, is the case above).
        const action = keep(target.at!(silent.port, 500));
        const error = await failureOf(attempt(action));
        expect(error).toBeInstanceOf(DeliveryError);
        expect((error as DeliveryError).permanent).toBe(false);
        expect((error as Error).message).toMatch(/no answer within 500 ms/);
      } finally {
        await silent.close();
      }
    });

    test('a refusal (a 4xx, a constraint violation) is a permanent error', async () => {
      const action = keep(await target.refused!());
      const error = await failureOf(attempt(action));
      expect(error).toBeInstanceOf(DeliveryError);
      expect((error as DeliveryError).permanent).toBe(true);
      expect(await target.records()).toBe(0);
    });

    test('a 401 renews the credentials once and the delivery is made', async () => {
      const { action, renewals } = await target.renewal!();
      keep(action);
      const result = await attempt(action);
      expect(result.id).toBeTruthy();
      expect(renewals()).toBe(1);
    });

    test('a redirect is a permanent error with its reason, not followed', async () => {
      const action = keep(await target.redirect!());
      const error = await failureOf(attempt(action));
      expect(error).toBeInstanceOf(DeliveryError);
      expect((error as DeliveryError).permanent).toBe(true);
      expect((error as Error).message).toMatch(/HTTP 30\d .*redirects are not followed/);
      expect(await target.records()).toBe(0);
    });

    test('closing twice is safe', async () => {
      await attempt(target.action);
      await target.action.close?.();
      await target.action.close?.();
    });
  });
}

/**
 * A CRM's HTTP API for the HTTP actions: OAuth2 client credentials at `/token`; `/records` makes a
 * record per Idempotency-Key (the same key answers the same record); `/refuse` answers 422, `/moved`
 * 302. `revoke()` makes the tokens given so far invalid (the next request gets a 401).
 */
export async function fakeCrm() {
  const valid = new Set<string>();
  const records = new Map<string, string>();
  let issued = 0;
  const server: HttpServer = createHttpServer(async (request, response) => {
    for await (const _ of request);
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, { 'content-type': 'application/json', ...headers });
      response.end(body === undefined ? '' : JSON.stringify(body));
    };
    if (path === '/token') {
      const token = `token-${++issued}`;
      valid.add(token);
      return send(200, { access_token: token, token_type: 'Bearer', expires_in: 3600 });
    }
    if (!valid.has(request.headers.authorization?.replace(/^Bearer /, '') ?? '')) {
      return send(401, { error: 'invalid_token' });
    }
    if (path === '/refuse') return send(422, { error: 'invalid' });
    if (path === '/moved') return send(302, undefined, { location: '/records' });
    const key = String(request.headers['idempotency-key'] ?? '');
    let id = records.get(key);
    if (id === undefined) {
      id = `record-${records.size + 1}`;
      records.set(key, id);
    }
    return send(201, { id });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    records: () => records.size,
    /** Tokens asked for so far. */
    tokens: () => issued,
    revoke: () => valid.clear(),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
