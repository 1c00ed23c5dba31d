import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerFactory,
  LogController,
} from 'fastify';
import type { Bindings, ChildLoggerOptions, Logger } from 'pino';
import secureJson from 'secure-json-parse';
import { type Config, pathPrefix, type Tenant } from '../config/schema.js';
import type { ConsoleOptions } from '../console/kit.js';
import { consoleRoutes } from '../console/plugin.js';
import { CallcardError, ErrorMessages } from '../errors.js';
import type { Lookup } from '../lookup/lookup.js';
import { maskNumber } from '../phone/index.js';
import type { OutboxStore } from '../store/outbox-types.js';
import type { CallJournal } from '../store/types.js';
import type { Workflows } from '../workflows/registry.js';
import { CALL_PAGE_PATH } from '../workflows/workflow.js';
import { type Authenticator, bearerCheck } from './auth.js';
import { registerErrorHandling, sendError } from './errors.js';
import { type AnyTenantAccepts, createTenantGuard, createUnservedGuard } from './guard.js';
import { openTenantCounters } from './limits/index.js';
import { openApiRoutes } from './openapi.js';
import { BODY_LIMIT } from './request.js';
import { connectorRoutes } from './routes/connector.js';
import { type MetricsRoutesOptions, metricsRoutes } from './routes/metrics.js';
import { oauthRoutes } from './routes/oauth.js';
import { pageRoutes } from './routes/pages.js';
import { type Readiness, readinessRoutes, serviceRoutes } from './routes/service.js';

/** One customer's routes, under its base path. */
export interface TenantRoutes {
  readonly tenant: Readonly<Tenant>;
  readonly lookup: Lookup;
  readonly workflows: Workflows;
  readonly journal: CallJournal;
  /** Where workflow deliveries stand, for the call pages. */
  readonly outbox?: OutboxStore;
  readonly auth: Authenticator;
  /** The web console at `<base>/admin`; it answers 404 until an account exists. */
  readonly console?: Omit<ConsoleOptions, 'tenant'>;
  /** Finishes an OAuth consent at `<base path>/oauth/callback` (see routes/oauth.ts). */
  readonly oauthCallback?: (query: URLSearchParams) => Promise<string>;
}

export interface AppOptions {
  readonly config: Readonly<Pick<Config, 'trustProxy' | 'http'>>;
  readonly tenants: readonly TenantRoutes[];
  /** HTTPS: PEM certificate chain and key. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** What `/readyz` reports. */
  readonly readiness?: () => Promise<Readiness>;
  /** The bearer token that shows `/readyz`'s checks (the metrics token); without it, the status only. */
  readonly readinessToken?: string;
  readonly logger: Logger;
  /** `GET /metrics` on this app; absent when metrics are off or served on their own port. */
  readonly metrics?: MetricsRoutesOptions;
  /** The clock of the rate limits (tests move it). */
  readonly now?: () => number;
  /** The listener's, when apps built one after the other serve it (switch.ts). */
  readonly serverFactory?: FastifyServerFactory;
}

/** `type/subtype`, as a Content-Type header starts. */
const MEDIA_TYPE = /^\s*[\w!#$&^.+-]+\/[\w!#$&^.+-]+/;
/** While stopping, how often connections that fell idle are closed. */
const IDLE_SWEEP_MS = 50;
/** How often connections are checked against the request timeout. */
const CONNECTIONS_CHECK_MS = 1000;

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { config, logger } = options;
  // Node checks those timeouts every 30 s by default: a slow sender would keep its connection that much longer.
  const server = {
    connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
    headersTimeout: config.http.requestTimeoutMs,
  };
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new RequestLog(),
    childLoggerFactory: requestLogger,
    bodyLimit: BODY_LIMIT,
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true },
    trustProxy: config.trustProxy,
    // A client must send its whole request in time: slow senders cannot hold connections open.
    requestTimeout: config.http.requestTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    return503OnClosing: true,
    frameworkErrors: sendError,
    http: server,
    ...(options.tls && { https: { ...server, cert: options.tls.cert, key: options.tls.key } }),
    ...(options.serverFactory && { serverFactory: options.serverFactory }),
  });
  app.decorateRequest('outcome', null);

  // While stopping, connections whose answers went out are closed as they fall idle: a kept-alive
  // connection would otherwise hold the stop until its keep-alive timeout. (Checked on a timer, not
  // on each answer, so that serving costs nothing more.)
  let sweeping: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    sweeping = setInterval(() => app.server.closeIdleConnections(), IDLE_SWEEP_MS);
  });
  app.addHook('onClose', async () => clearInterval(sweeping));

  // Any content type is read as JSON: the CONNECTOR's clients do not all send the header, and an
  // empty body is the older query-parameter form of the lookup.
  // A header that names no media type ("", ";", "json") is dropped rather than refused with 415.
  // (A callback hook: an async one costs a promise and a turn of the microtask queue per request.)
  app.addHook('onRequest', (request, _reply, done) => {
    const type = request.headers['content-type'];
    if (type !== undefined && !MEDIA_TYPE.test(type)) delete request.headers['content-type'];
    done();
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, secureJson.parse(text, undefined, { protoAction: 'remove', constructorAction: 'remove' }));
    } catch {
      done(new CallcardError('INVALID_JSON', ErrorMessages.INVALID_JSON), undefined);
    }
  });

  const auths = options.tenants.map((routes) => routes.auth);
  const anyTenantAccepts: AnyTenantAccepts = (headers) =>
    auths.map((auth) => auth.check(headers)).some((id) => id !== undefined);
  // Paths where no tenant is answer as a tenant's base path without its token (the first tenant's
  // limits stand for them; tenants usually share them).
  const counters = await openTenantCounters(
    options.tenants.map((routes) => routes.tenant),
    logger,
  );
  app.addHook('onClose', () => counters.close());
  const first = options.tenants[0]?.tenant;
  registerErrorHandling(
    app,
    first
      ? createUnservedGuard(first.limits, CALL_PAGE_PATH, anyTenantAccepts, counters.of(first), options.now)
      : undefined,
  );

  const single = options.tenants.length === 1 ? options.tenants[0] : undefined;
  await app.register(serviceRoutes, {
    // With several tenants, the front page names none of their paths.
    ...(single && { basePath: single.tenant.basePath }),
    ...(options.readiness && { readiness: options.readiness }),
    // The checks name tenants and sources: for monitoring, which holds the metrics token.
    details: options.readinessToken === undefined ? () => false : bearerCheck(options.readinessToken),
  });
  if (options.metrics) await app.register(metricsRoutes, options.metrics);
  for (const routes of options.tenants) {
    const { tenant } = routes;
    const prefix = pathPrefix(tenant.basePath);
    const guard = createTenantGuard(tenant, routes.auth, counters.of(tenant), options.now, anyTenantAccepts);
    await app.register(pageRoutes, {
      prefix,
      journal: routes.journal,
      guard: guard.page,
      ...(routes.outbox && { outbox: routes.outbox }),
    });
    if (routes.oauthCallback) {
      await app.register(oauthRoutes, { prefix, finish: routes.oauthCallback, guard: guard.page });
    }
    await app.register(connectorRoutes, {
      prefix,
      tenant,
      lookup: routes.lookup,
      workflows: routes.workflows,
      guard: guard.api,
    });
    await app.register(openApiRoutes, {
      prefix,
      tenant,
      workflows: routes.workflows,
      metrics: options.metrics,
      guard: guard.api,
    });
    // The console is for people in a browser, not the CONNECTOR: its own sign-in, not the API's guard.
    if (routes.console)
      await app.register(consoleRoutes, { prefix: `${prefix}/admin`, tenant, ...routes.console });
  }
  return app;
}

/**
 * The separate listener for `admin.port`: every tenant's console at `<base>/admin`, and nothing
 * else; HTTPS when the main port is.
 */
export async function buildConsoleApp(options: {
  readonly tenants: readonly {
    readonly tenant: Readonly<Tenant>;
    readonly console: Omit<ConsoleOptions, 'tenant'>;
  }[];
  readonly config: Readonly<Pick<Config, 'trustProxy' | 'http'>>;
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  readonly logger: Logger;
  readonly serverFactory?: FastifyServerFactory;
}): Promise<FastifyInstance> {
  const { config } = options;
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Fastify's own request lines would carry the query, and with it a number tested.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true },
    trustProxy: config.trustProxy,
    requestTimeout: config.http.requestTimeoutMs,
    return503OnClosing: true,
    frameworkErrors: sendError,
    ...(options.tls && { https: { cert: options.tls.cert, key: options.tls.key } }),
    ...(options.serverFactory && { serverFactory: options.serverFactory }),
  });
  registerErrorHandling(app);
  for (const { tenant, console } of options.tenants) {
    await app.register(consoleRoutes, { prefix: `${pathPrefix(tenant.basePath)}/admin`, tenant, ...console });
  }
  return app;
}

/**
 * The separate listener for `metrics.port`: `GET /metrics` and `GET /readyz` with its checks, plain
 * HTTP, for monitoring on a private address.
 */
export async function buildMetricsApp(
  options: MetricsRoutesOptions & {
    readonly logger: Logger;
    readonly readiness?: () => Promise<Readiness>;
    readonly serverFactory?: FastifyServerFactory;
  },
): Promise<FastifyInstance> {
  const { logger, readiness, serverFactory, ...metrics } = options;
  const app = Fastify({
    ...(serverFactory && { serverFactory }),
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    requestTimeout: 10_000,
    return503OnClosing: true,
    frameworkErrors: sendError,
  });
  registerErrorHandling(app);
  await app.register(metricsRoutes, metrics);
  await app.register(readinessRoutes, { ...(readiness && { readiness }), details: () => true });
  return app;
}

/**
 * A request's logger: pino's child with the request id, made only when something is logged through
 * it. Fastify asks for one per request, and pino's child copies its bindings and serializers each
 * time, while below log level info most requests log nothing.
 */
class RequestLogger {
  #child: Logger | undefined;

  constructor(
    readonly parent: Logger,
    readonly bindings: Bindings,
  ) {}

  get #logger(): Logger {
    this.#child ??= this.parent.child(this.bindings);
    return this.#child;
  }

  get level(): string {
    return this.#child?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.#logger.level = level;
  }

  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.parent).isLevelEnabled(level);
  }

  fatal(...args: unknown[]): void {
    this.#write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#write('error', args);
  }
  warn(...args: unknown[]): void {
    this.#write('warn', args);
  }
  info(...args: unknown[]): void {
    this.#write('info', args);
  }
  debug(...args: unknown[]): void {
    this.#write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#write('trace', args);
  }
  silent(): void {}

  #write(level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace', args: unknown[]) {
    // Below the level, nothing is written: no child is made for it.
    if (!this.isLevelEnabled(level)) return;
    const logger = this.#logger;
    (logger[level] as (...args: unknown[]) => void).apply(logger, args);
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return this.#logger.child(bindings, options);
  }
}

/** Fastify's childLoggerFactory: a route's own level or serializers get pino's child at once. */
function requestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
  if (options.level !== undefined || options.serializers !== undefined)
    return logger.child(bindings, options);
  return new RequestLogger(logger as Logger, bindings) as unknown as FastifyBaseLogger;
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
