import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyPluginAsync } from 'fastify';
import { pathPrefix } from '../../config/schema.js';
import { LOGO_SVG } from '../pages/logo.js';

export interface Readiness {
  readonly ready: boolean;
  /** What was checked; names of stores and sources only, never data. */
  readonly checks: readonly { readonly name: string; readonly ok: boolean; readonly detail?: string }[];
}

export interface ReadinessOptions {
  readonly readiness?: () => Promise<Readiness>;
  /** Whether the request may see the checks, which name tenants and sources; else only the status. */
  readonly details: (headers: IncomingHttpHeaders) => boolean;
}

export interface ServiceRoutesOptions extends ReadinessOptions {
  /** The one tenant's base path; absent with several tenants. */
  readonly basePath?: string;
}

/** Ready for traffic: the store answers and every mirrored source has been synced once. */
export const readinessRoutes: FastifyPluginAsync<ReadinessOptions> = async (app, { readiness, details }) => {
  app.get('/readyz', async (request, reply) => {
    const state = readiness ? await readiness() : { ready: true, checks: [] };
    const status = state.ready ? 'ready' : 'not ready';
    return reply
      .code(state.ready ? 200 : 503)
      .send(details(request.headers) ? { status, checks: state.checks } : { status });
  });
};

/** Unauthenticated endpoints for people and load balancers; they reveal no data. */
export const serviceRoutes: FastifyPluginAsync<ServiceRoutesOptions> = async (
  app,
  { basePath, ...readiness },
) => {
  const lookupPath = basePath === undefined ? '<base path>/Lookup' : `${pathPrefix(basePath)}/Lookup`;
  /** Alive: the process answers. */
  app.get('/healthz', async () => ({ status: 'ok' }));
  await app.register(readinessRoutes, readiness);
  app.get('/', async () => ({
    service: 'callcard',
    description: 'Phone lookup service for the peoplefone CONNECTOR',
    lookup: `POST ${lookupPath} with {"inputs":{"phoneNumber":"41215522000"}} and the token header`,
  }));
  app.get('/logo.svg', async (_request, reply) =>
    reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(LOGO_SVG),
  );
};
