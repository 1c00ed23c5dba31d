import type { FastifyPluginAsync } from 'fastify';
import { LOGO_SVG } from '../pages/logo.js';

/** Unauthenticated endpoints for people and load balancers; they reveal no data. */
export const serviceRoutes: FastifyPluginAsync<{ basePath: string }> = async (app, { basePath }) => {
  const lookupPath = `${basePath === '/' ? '' : basePath}/Lookup`;
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/', async () => ({
    service: 'callcard',
    description: 'Phone lookup service for the peoplefone CONNECTOR',
    lookup: `POST ${lookupPath} with {"inputs":{"phoneNumber":"41215522000"}} and the token header`,
  }));
  app.get('/logo.svg', async (_request, reply) =>
    reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(LOGO_SVG),
  );
};
