import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Tenant } from '../config/schema.js';
import { ErrorMessages as M } from '../errors.js';
import { createAllowList } from './address.js';
import type { Authenticator } from './auth.js';
import { errorBody } from './errors.js';
import { Lockout, RateLimit, type Verdict } from './limits.js';

/** The checks in front of one tenant's routes. */
export interface TenantGuard {
  /** The CONNECTOR API: allowed address, not locked out, within limits, right token. */
  readonly api: onRequestAsyncHookHandler;
  /** Call pages, opened from browsers without a token: within the address limit. */
  readonly page: onRequestAsyncHookHandler;
}

const OK_VERDICT: Verdict = { ok: true };

function tooMany(reply: FastifyReply, verdict: Verdict & { ok: false }, message: string) {
  return reply
    .code(429)
    .header('retry-after', String(verdict.retryAfterSeconds))
    .send(errorBody('RATE_LIMITED', M.retryAfter(message, verdict.retryAfterSeconds)));
}

export function createTenantGuard(
  tenant: Pick<Tenant, 'name' | 'allow' | 'limits'>,
  auth: Authenticator,
  now: () => number = Date.now,
): TenantGuard {
  const allowed = createAllowList(tenant.allow);
  const perAddress = new RateLimit(tenant.limits.perAddress.max, tenant.limits.perAddress.windowMs, now);
  const perToken = new RateLimit(tenant.limits.perToken.max, tenant.limits.perToken.windowMs, now);
  const lockout = new Lockout(tenant.limits.badTokens, now);
  const mark = (request: FastifyRequest) => {
    request.outcome = { ...request.outcome, tenant: tenant.name };
  };

  return {
    async api(request, reply) {
      mark(request);
      const address = request.ip;
      if (allowed && !allowed(address)) {
        return reply.code(403).send(errorBody('ADDRESS_NOT_ALLOWED', M.ADDRESS_NOT_ALLOWED));
      }
      // Listed addresses are known callers (peoplefone's): a wrong token there is a setting to fix,
      // not someone guessing, and locking them out would delay the fix.
      const locked = allowed ? OK_VERDICT : lockout.check(address);
      if (!locked.ok) return tooMany(reply, locked, M.TOO_MANY_BAD_TOKENS);
      const byAddress = perAddress.take(address);
      if (!byAddress.ok) return tooMany(reply, byAddress, M.TOO_MANY_FROM_ADDRESS);
      // Checked before the body is read: an unauthenticated request costs nothing and learns nothing.
      const credential = auth.check(request.headers);
      if (credential === undefined) {
        if (!allowed) lockout.fail(address);
        return reply.code(401).send(errorBody('UNAUTHORIZED', M.UNAUTHORIZED));
      }
      lockout.succeed(address);
      const byToken = perToken.take(credential);
      if (!byToken.ok) return tooMany(reply, byToken, M.TOO_MANY_WITH_TOKEN);
    },
    async page(request, reply) {
      mark(request);
      const byAddress = perAddress.take(request.ip);
      if (!byAddress.ok) return tooMany(reply, byAddress, M.TOO_MANY_FROM_ADDRESS);
    },
  };
}
