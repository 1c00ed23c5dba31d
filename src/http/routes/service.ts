import type { FastifyPluginAsync } from 'fastify';
import { pathPrefix } from '../../config/schema.js';
import { LOGO_SVG } from '../pages/logo.js';

export interface Readiness {
  readonly ready: boolean;
  /** What was checked; names of stores and sources only, never data. */
  readonly checks: readonly { readonly name: string; readonly ok: boolean; readonly detail?: string }[];
}

export interface ServiceRoutesOptions {
  /** The one tenant's base path; absent with several tenants. */
  readonly basePath?: string;
  readonly readiness?: () => Promise<Readiness>;
}

/** Unauthenticated endpoints for people and load balancers; they reveal no data. */
export const serviceRoutes: FastifyPluginAsync<ServiceRoutesOptions> = async (
  app,
  { basePath, readiness },
) => {
  const lookupPath = basePath === undefined ? '<base path>/Lookup' : `${pathPrefix(basePath)}/Lookup`;
  /** Alive: the process answers. */
  app.get('/healthz', async () => ({ status: 'ok' }));
  /** Ready for traffic: the store answers and every mirrored source has been synced once. */
  app.get('/readyz', async (_request, reply) => {
    const state = readiness ? await readiness() : { ready: true, checks: [] };
    return reply
      .code(state.ready ? 200 : 503)
      .send({ status: state.ready ? 'ready' : 'not ready', checks: state.checks });
  });
  app.get('/', async () => ({
    service: 'callcard',
    description: 'Phone lookup service for the peoplefone CONNECTOR',
    lookup: `POST ${lookupPath} with {"inputs":{"phoneNumber":"41215522000"}} and the token header`,
  }));
  app.get('/logo.svg', async (_request, reply) =>
    reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(LOGO_SVG),
  );
};
