import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import secureJson from 'secure-json-parse';
import type { Config } from '../config/schema.js';
import { CallcardError } from '../errors.js';
import type { Lookup } from '../lookup/lookup.js';
import { maskNumber } from '../phone/index.js';
import type { CallJournal } from '../store/types.js';
import type { OutboxStore } from '../workflows/outbox/types.js';
import type { Workflows } from '../workflows/registry.js';
import type { Credential } from './auth.js';
import { registerErrorHandling } from './errors.js';
import { connectorRoutes } from './routes/connector.js';
import { type MetricsRoutesOptions, metricsRoutes } from './routes/metrics.js';
import { pageRoutes } from './routes/pages.js';
import { type Readiness, serviceRoutes } from './routes/service.js';

export interface AppOptions {
  readonly config: Readonly<Config>;
  readonly lookup: Lookup;
  readonly workflows: Workflows;
  readonly journal: CallJournal;
  /** Where workflow deliveries stand, for the call pages. */
  readonly outbox?: OutboxStore;
  readonly credentials: readonly Credential[];
  /** What `/readyz` reports. */
  readonly readiness?: () => Promise<Readiness>;
  readonly logger: Logger;
  /** `GET /metrics` on this app; absent when metrics are off or served on their own port. */
  readonly metrics?: MetricsRoutesOptions;
}

/** What a handler found out, for the one log line each request gets. */
export interface RequestOutcome {
  /** The number looked up, as its key; the log shows it masked. */
  key?: string;
  results?: number;
  workflow?: string;
  sources?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    outcome: RequestOutcome | null;
  }
}

export const BODY_LIMIT = 64 * 1024;

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, logger } = options;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new RequestLog(),
    bodyLimit: BODY_LIMIT,
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true },
    trustProxy: config.trustProxy,
    requestTimeout: 10_000,
    return503OnClosing: true,
  });
  app.decorateRequest('outcome', null);

  // Any content type is read as JSON: the CONNECTOR's clients do not all send the header, and an
  // empty body is the older query-parameter form of the lookup.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, secureJson.parse(text, undefined, { protoAction: 'remove', constructorAction: 'remove' }));
    } catch {
      done(new CallcardError('INVALID_JSON', 'the request body is not valid JSON'), undefined);
    }
  });

  registerErrorHandling(app);

  const prefix = config.basePath === '/' ? '' : config.basePath;
  await app.register(serviceRoutes, {
    basePath: config.basePath,
    ...(options.readiness && { readiness: options.readiness }),
  });
  if (options.metrics) await app.register(metricsRoutes, options.metrics);
  await app.register(pageRoutes, {
    prefix,
    journal: options.journal,
    ...(options.outbox && { outbox: options.outbox }),
  });
  await app.register(connectorRoutes, {
    prefix,
    config,
    lookup: options.lookup,
    workflows: options.workflows,
    credentials: options.credentials,
  });
  return app;
}

/** The separate listener for `metrics.port`: `GET /metrics` only, plain HTTP. */
export async function buildMetricsApp(
  options: MetricsRoutesOptions & { readonly logger: Logger },
): Promise<FastifyInstance> {
  const { logger, ...metrics } = options;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    disableRequestLogging: true,
    requestTimeout: 10_000,
    return503OnClosing: true,
  });
  registerErrorHandling(app);
  await app.register(metricsRoutes, metrics);
  return app;
}

/** One log line per request, with its outcome and duration; the number in it is masked. */
class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(_error: unknown, request: FastifyRequest, reply: FastifyReply): void {
    // The path only: the legacy query string carries the phone number.
    if (!(request.log as Logger).isLevelEnabled('info')) return;
    const path = request.url.split('?')[0];
    const ms = Math.round(reply.elapsedTime * 100) / 100;
    // The key is masked here, only when the line is written.
    const { key, ...outcome } = request.outcome ?? {};
    const number = key === undefined ? undefined : maskNumber(key);
    request.log.info(
      { method: request.method, path, status: reply.statusCode, ms, ...(number && { number }), ...outcome },
      'request',
    );
  }
}

/** The address the caller used to reach callcard, unless configured. */
export function publicUrlOf(request: FastifyRequest, configured: string | undefined): string {
  return (configured ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '');
}
