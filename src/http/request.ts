import type { FastifyRequest } from 'fastify';

/**
 * What the app and its routes share about a request: the body limit, the address the caller used,
 * and what a handler found out for the request's log line. (Its own module, so that routes and the
 * OpenAPI document need not import the app that registers them.)
 */

export const BODY_LIMIT = 64 * 1024;

/** What a handler found out, for the one log line each request gets. */
export interface RequestOutcome {
  tenant?: string;
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

/** The address the caller used to reach callcard, unless configured. */
export function publicUrlOf(request: FastifyRequest, configured: string | undefined): string {
  return (configured ?? `${request.protocol}://${request.host}`).replace(/\/+$/, '');
}
