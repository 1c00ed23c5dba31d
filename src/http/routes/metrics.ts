import type { FastifyPluginAsync } from 'fastify';
import type { Registry } from 'prom-client';
import { ErrorMessages } from '../../errors.js';
import { bearerCheck } from '../auth.js';
import { errorBody } from '../errors.js';

export interface MetricsRoutesOptions {
  readonly registry: Registry;
  /** When set, a scrape needs `Authorization: Bearer <token>`. */
  readonly token?: string;
}

/** `GET /metrics` in Prometheus' text format. */
export const metricsRoutes: FastifyPluginAsync<MetricsRoutesOptions> = async (app, { registry, token }) => {
  const authorized = token === undefined ? undefined : bearerCheck(token);
  app.get('/metrics', async (request, reply) => {
    if (authorized && !authorized(request.headers)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send(errorBody('UNAUTHORIZED', ErrorMessages.METRICS_UNAUTHORIZED));
    }
    return reply.type(registry.contentType).send(await registry.metrics());
  });
};
