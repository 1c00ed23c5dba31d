/**
 * Errors with stable codes. Each code carries its HTTP status; the HTTP error handler maps them
 * and never shows more than the code and the message.
 */
export const ErrorCodes = {
  INVALID_JSON: 400,
  INVALID_INPUT: 400,
  MISSING_INPUTS: 400,
  UNAUTHORIZED: 401,
  ADDRESS_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  UNKNOWN_WORKFLOW: 404,
  METHOD_NOT_ALLOWED: 405,
  BODY_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  SOURCE_TIMEOUT: 504,
  SOURCE_FAILED: 502,
  CONFIG_INVALID: 500,
  IMPORT_FAILED: 500,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class CallcardError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CallcardError';
    this.code = code;
    this.statusCode = ErrorCodes[code];
  }
}

export function isCallcardError(error: unknown): error is CallcardError {
  return error instanceof CallcardError;
}
