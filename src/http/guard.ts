import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Tenant } from '../config/schema.js';
import { ErrorMessages as M } from '../errors.js';
import { createAllowList } from '../util/cidr.js';
import type { Authenticator } from './auth.js';
import { errorBody, sendNotFound } from './errors.js';
import type { LimitCounters } from './limits/index.js';

/** The checks in front of one tenant's routes. */
export interface TenantGuard {
  /** The CONNECTOR API: allowed address, not locked out, within limits, right token. */
  readonly api: onRequestAsyncHookHandler;
  /** Call pages, opened from browsers without a token: within the address limit. */
  readonly page: onRequestAsyncHookHandler;
}

/** Whether the headers carry a token of any tenant (they then belong to a caller who knows one). */
export type AnyTenantAccepts = (headers: IncomingHttpHeaders) => boolean;

const NEVER: AnyTenantAccepts = () => false;

/** 429 with the wait in whole seconds, at least one. */
function tooMany(reply: FastifyReply, waitMs: number, message: string) {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return reply
    .code(429)
    .header('retry-after', String(seconds))
    .send(errorBody('RATE_LIMITED', M.retryAfter(message, seconds)));
}

const unauthorized = (reply: FastifyReply) => reply.code(401).send(errorBody('UNAUTHORIZED', M.UNAUTHORIZED));

/**
 * The answers without a right token are the same at a tenant's base path and at a path where no
 * tenant is, so that nobody can find out which customers an instance serves:
 * - no token of any tenant: 401, whether or not a tenant is there;
 * - a token of another tenant: 404, as where no tenant is (its holder learns only that its own
 *   tenant is elsewhere, which it knows).
 */
export function createTenantGuard(
  tenant: Pick<Tenant, 'name' | 'allow' | 'limits'>,
  auth: Authenticator,
  counters: LimitCounters,
  now: () => number = Date.now,
  anyTenantAccepts: AnyTenantAccepts = NEVER,
): TenantGuard {
  const allowed = createAllowList(tenant.allow);
  const { perAddress, perToken, badTokens } = tenant.limits;
  // Each tenant counts apart, also where the counters are shared with other tenants and instances.
  const addressKey = (address: string) => `t:${tenant.name}:a:${address}`;
  const mark = (request: FastifyRequest) => {
    request.outcome = { ...request.outcome, tenant: tenant.name };
  };

  return {
    async api(request, reply) {
      mark(request);
      const address = addressKey(request.ip);
      // Listed addresses are known callers (peoplefone's): a wrong token there is a setting to fix,
      // not someone guessing, and locking them out would delay the fix.
      const listed = allowed?.(request.ip);
      const entry = await counters.enter(address, perAddress.windowMs, !listed, now());
      if (entry.blockedMs > 0) return tooMany(reply, entry.blockedMs, M.TOO_MANY_BAD_TOKENS);
      if (entry.count > perAddress.max) return tooMany(reply, entry.resetMs, M.TOO_MANY_FROM_ADDRESS);
      // Checked before the body is read: an unauthenticated request costs nothing and learns nothing.
      const credential = auth.check(request.headers);
      if (credential === undefined) {
        if (anyTenantAccepts(request.headers)) return sendNotFound(request, reply);
        if (!listed) await counters.fail(address, badTokens, now());
        return unauthorized(reply);
      }
      // An address outside the list is told so only with the right token: without it, the answer
      // is the one of a path where no tenant is.
      if (listed === false) {
        return reply.code(403).send(errorBody('ADDRESS_NOT_ALLOWED', M.ADDRESS_NOT_ALLOWED));
      }
      if (entry.failing) await counters.clear(address);
      const byToken = await counters.hit(`t:${tenant.name}:k:${credential}`, perToken.windowMs, now());
      if (byToken.count > perToken.max) return tooMany(reply, byToken.resetMs, M.TOO_MANY_WITH_TOKEN);
    },
    async page(request, reply) {
      mark(request);
      const { count, resetMs } = await counters.hit(addressKey(request.ip), perAddress.windowMs, now());
      if (count > perAddress.max) return tooMany(reply, resetMs, M.TOO_MANY_FROM_ADDRESS);
    },
  };
}

/** Lower-case path segments: routes ignore case, trailing and doubled slashes alike. */
const segmentsOf = (url: string) =>
  (url.split('?')[0] ?? '')
    .toLowerCase()
    .split('/')
    .filter((segment) => segment !== '');

/**
 * Where a request for no route would have gone had a tenant been there: the base path it names,
 * and whether that route is behind the token (the CONNECTOR API and openapi.json) or a call page.
 */
export function unservedRoute(
  method: string,
  url: string,
  pagePath: string,
): { base: string; kind: 'api' | 'page' } | undefined {
  const segments = segmentsOf(url);
  const last = segments.at(-1);
  if (last === undefined) return undefined;
  const page = pagePath.split('/').filter(Boolean)[0]?.toLowerCase();
  const reading = method === 'GET' || method === 'HEAD';
  if (method === 'POST' || (reading && (last === 'lookup' || last === 'openapi.json'))) {
    return { base: `/${segments.slice(0, -1).join('/')}`, kind: 'api' };
  }
  if (reading && segments.length >= 2 && segments.at(-2) === page) {
    return { base: `/${segments.slice(0, -2).join('/')}`, kind: 'page' };
  }
  return undefined;
}

/**
 * The answer at paths where no tenant is, for requests a tenant's routes would have taken: the
 * same checks and limits as at a tenant's base path (counted for each such path apart, as each
 * tenant counts its own), then what a tenant answers without its token.
 */
export function createUnservedGuard(
  limits: Tenant['limits'],
  pagePath: string,
  anyTenantAccepts: AnyTenantAccepts,
  counters: LimitCounters,
  now: () => number = Date.now,
) {
  const { perAddress, badTokens } = limits;
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const route = unservedRoute(request.method, request.url, pagePath);
    if (!route) return sendNotFound(request, reply);
    const key = `u:${route.base}:a:${request.ip}`;
    const entry = await counters.enter(key, perAddress.windowMs, route.kind === 'api', now());
    if (entry.blockedMs > 0) return tooMany(reply, entry.blockedMs, M.TOO_MANY_BAD_TOKENS);
    if (entry.count > perAddress.max) return tooMany(reply, entry.resetMs, M.TOO_MANY_FROM_ADDRESS);
    if (route.kind === 'page') return sendNotFound(request, reply);
    if (anyTenantAccepts(request.headers)) return sendNotFound(request, reply);
    await counters.fail(key, badTokens, now());
    return unauthorized(reply);
  };
}
