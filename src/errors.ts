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
  STORE_UNAVAILABLE: 503,
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

/**
 * What an error says, by situation: the one place for the messages the API answers with, so that
 * the code that refuses a request and the API's description show the same words.
 */
export const ErrorMessages = {
  // The body and the URL, before any route reads them.
  INVALID_JSON: 'the request body is not valid JSON',
  bodyTooLarge: (bytes: number) => `the request body is larger than ${bytes / 1024} KiB`,
  UNSUPPORTED_MEDIA_TYPE: 'send the body as application/json',
  CONTENT_LENGTH: 'the Content-Length header does not match the body',
  EMPTY_JSON_BODY: 'the JSON body is empty',
  BAD_URL: 'the URL is not valid (broken percent-encoding)',
  PATH_PART_TOO_LONG: 'a part of the URL path is longer than 100 characters',
  UNREADABLE_REQUEST: 'the request could not be read',
  noSuchEndpoint: (method: string, path: string) => `no such endpoint: ${method} ${path}`,
  INTERNAL: 'internal error; the service log has the details',

  // The guard in front of the API, and the metrics' bearer token.
  ADDRESS_NOT_ALLOWED: 'this address may not call this service',
  UNAUTHORIZED: 'missing or wrong token header',
  METRICS_UNAUTHORIZED: 'missing or wrong bearer token',
  TOO_MANY_BAD_TOKENS: 'too many wrong tokens from this address',
  TOO_MANY_FROM_ADDRESS: 'too many requests from this address',
  TOO_MANY_WITH_TOKEN: 'too many requests with this token',
  retryAfter: (reason: string, seconds: number) => `${reason}; retry after ${seconds} s`,
  STORE_UNAVAILABLE: 'the call cannot be recorded now (the store does not answer)',

  // The CONNECTOR's requests.
  INPUTS_NOT_OBJECT: '"inputs" must be a JSON object',
  PHONE_NUMBER_NOT_TEXT: '"inputs.phoneNumber" must be a string',
  phoneNumberTooLong: (max: number) => `the phone number is longer than ${max} characters`,
  LOOKUP_MISSING_INPUTS:
    'send {"inputs":{"phoneNumber":"41215522000"}} as JSON, or a PhoneNumber query parameter',
  CALL_MISSING_INPUTS: 'send the call as {"inputs":{...}} in a JSON body',
  notText: (field: string) => `inputs.${field} must be a string`,
  notDirection: (value: string) =>
    `inputs.direction must be "incoming" or "outgoing", not "${value.slice(0, 20)}"`,
  notTime: (field: string) => `inputs.${field} must be an ISO-8601 date-time (2024-05-01T09:30:00Z) or empty`,
  tooDeep: (field: string, levels: number) =>
    `inputs.${field.slice(0, 64)} is nested deeper than ${levels} levels`,
  /** Problems of one request, all of them, in the order of its fields. */
  together: (problems: readonly string[]) => problems.join('; '),
  unknownWorkflow: (name: string) => `no workflow named "${name.slice(0, 64)}"`,
} as const;
