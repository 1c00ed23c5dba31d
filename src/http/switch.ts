import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { FastifyInstance, FastifyServerFactory } from 'fastify';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** The answer of a listener that is stopping, as Fastify gives it (`return503OnClosing`). */
const STOPPING = '{"error":"Service Unavailable","message":"Service Unavailable","statusCode":503}';

/**
 * One listener in front of apps built one after the other: Fastify takes no routes once it is
 * ready, so a reload that changes the tenants builds a whole new app (from the same cores for the
 * tenants it keeps) and the listener's requests go to it from then on. A request goes to the app
 * that was in use when it came, which answers it to the end, however long a reload takes.
 *
 * The first app built with `serverFactory` gets the server that listens; later ones get a server
 * that never listens (Fastify wants one), and are answered through `routing`.
 */
export interface AppSwitch {
  /** For `Fastify({ serverFactory })` of every app this listener serves. */
  readonly serverFactory: FastifyServerFactory;
  /** From now on, the listener's requests go to this app (built with `serverFactory`, ready). */
  use(app: FastifyInstance): Promise<void>;
  /** Resolves once every request the app took has been answered (at once when none is open). */
  drained(app: FastifyInstance): Promise<void>;
  /** New requests are answered 503, as while Fastify stops; those under way go on. */
  stop(): void;
}

interface Open {
  count: number;
  idle: (() => void)[];
}

export function createAppSwitch(): AppSwitch {
  let server: Server | undefined;
  /** The listening app's own handler (with Fastify's answer while it stops). */
  let listening: Handler | undefined;
  let current: Handler | undefined;
  let stopping = false;
  /** Requests under way, by the handler they went to. */
  const open = new Map<Handler, Open>();
  const handlerOf = (app: FastifyInstance): Handler =>
    app.server === server && listening ? listening : (app.routing as unknown as Handler);
  const dispatch: Handler = (request, response) => {
    const handler = current;
    if (stopping || !handler) {
      response.setHeader('Connection', 'close');
      response.writeHead(503, { 'Content-Type': 'application/json', 'Content-Length': STOPPING.length });
      response.end(STOPPING);
      return;
    }
    let entry = open.get(handler);
    if (!entry) {
      entry = { count: 0, idle: [] };
      open.set(handler, entry);
    }
    const counted = entry;
    counted.count++;
    response.once('close', () => {
      counted.count--;
      if (counted.count > 0) return;
      open.delete(handler);
      for (const resolve of counted.idle.splice(0)) resolve();
    });
    handler(request, response);
  };
  const serverFactory: FastifyServerFactory = (handler, options) => {
    if (server) return createHttpServer();
    const settings = options as {
      https?: object | true | null;
      http?: object;
      keepAliveTimeout?: number;
      requestTimeout?: number;
      connectionTimeout?: number;
    };
    const https = settings.https === true ? {} : settings.https;
    const http = settings.http ?? {};
    server = https ? createHttpsServer(https, dispatch) : createHttpServer(http, dispatch);
    // What Fastify sets on a server it makes itself.
    if (settings.keepAliveTimeout !== undefined) server.keepAliveTimeout = settings.keepAliveTimeout;
    if (settings.requestTimeout !== undefined) server.requestTimeout = settings.requestTimeout;
    server.setTimeout(settings.connectionTimeout ?? 0);
    listening = handler as Handler;
    current = listening;
    return server;
  };
  return {
    serverFactory,
    async use(app) {
      await app.ready();
      current = handlerOf(app);
    },
    drained(app) {
      const entry = open.get(handlerOf(app));
      if (!entry) return Promise.resolve();
      return new Promise((resolve) => entry.idle.push(resolve));
    },
    stop() {
      stopping = true;
    },
  };
}
