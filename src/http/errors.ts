import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CallcardError, type ErrorCode, ErrorMessages as M } from '../errors.js';
import { BODY_LIMIT } from './request.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}

// Fastify's own request errors, by code, as the CONNECTOR's client should read them.
const FASTIFY_ERRORS: Readonly<Record<string, readonly [ErrorCode, string]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['BODY_TOO_LARGE', M.bodyTooLarge(BODY_LIMIT)],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['UNSUPPORTED_MEDIA_TYPE', M.UNSUPPORTED_MEDIA_TYPE],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ['INVALID_INPUT', M.CONTENT_LENGTH],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['MISSING_INPUTS', M.EMPTY_JSON_BODY],
  FST_ERR_BAD_URL: ['INVALID_INPUT', M.BAD_URL],
  FST_ERR_MAX_PARAM_LENGTH: ['INVALID_INPUT', M.PATH_PART_TOO_LONG],
};

/**
 * One place that turns errors into `{ error: { code, message } }`. Client errors say what to fix;
 * server errors say nothing more than "internal error" and are logged without stack or payload.
 * Also Fastify's `frameworkErrors`: a URL its router cannot read gets the same shape.
 */
export function sendError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof CallcardError && error.statusCode < 500) {
    return reply.code(error.statusCode).send(errorBody(error.code, error.message));
  }
  const known = error.code ? FASTIFY_ERRORS[error.code] : undefined;
  if (known) {
    const [code, message] = known;
    return reply.code(error.statusCode ?? 400).send(errorBody(code, message));
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return reply.code(error.statusCode).send(errorBody('INVALID_INPUT', M.UNREADABLE_REQUEST));
  }
  request.log.error(
    { err: { type: error.name, code: error.code, message: error.message } },
    'request failed',
  );
  return reply.code(500).send(errorBody('INTERNAL', M.INTERNAL));
}

/** The answer for a path with nothing behind it; the same wherever that is. */
export function sendNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply
    .code(404)
    .send(errorBody('NOT_FOUND', M.noSuchEndpoint(request.method, request.url.split('?')[0] ?? '')));
}

export function registerErrorHandling(
  app: FastifyInstance,
  notFound: (request: FastifyRequest, reply: FastifyReply) => unknown = sendNotFound,
): void {
  app.setErrorHandler(sendError);
  app.setNotFoundHandler(notFound);
}
