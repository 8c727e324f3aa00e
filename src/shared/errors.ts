import type { CodeWithStatus, ErrorCode, StatusOf } from './error-codes';

/** One problem with one input field, as listed in an error's `details`. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** What an AppError carries besides its code, status and message. */
export interface AppErrorOptions {
  details?: unknown[];
  cause?: unknown;
  headers?: Record<string, string>;
}

/** The constructor's arguments: a code of the registry with one of the statuses the registry gives it. */
export type AppErrorArgs = {
  [C in ErrorCode]: [code: C, status: StatusOf<C>, message: string, options?: AppErrorOptions];
}[ErrorCode];

/** A failure with a stable code that clients can rely on, and the HTTP status it maps to. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: unknown[];
  readonly headers?: Record<string, string>;

  constructor(...[code, status, message, options = {}]: AppErrorArgs) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = options.details;
    this.headers = options.headers;
  }
}

export class ValidationError extends AppError {
  constructor(
    message = 'Request validation failed',
    details?: FieldProblem[],
    code: CodeWithStatus<400> = 'VALIDATION_FAILED',
  ) {
    super(code, 400, message, { details });
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'Authentication required', code: CodeWithStatus<401> = 'UNAUTHENTICATED') {
    super(code, 401, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed', code: CodeWithStatus<403> = 'FORBIDDEN', details?: unknown[]) {
    super(code, 403, message, { details });
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'Not found', code: CodeWithStatus<404> = 'NOT_FOUND') {
    super(code, 404, message);
  }
}

export class ConflictError extends AppError {
  constructor(message = 'Conflict', code: CodeWithStatus<409> = 'CONFLICT', details?: unknown[]) {
    super(code, 409, message, { details });
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message = 'Payload too large') {
    super('PAYLOAD_TOO_LARGE', 413, message);
  }
}

export class RateLimitedError extends AppError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number, message = 'Too many requests') {
    const retry = Math.max(1, Math.ceil(retryAfterSeconds));
    super('RATE_LIMITED', 429, message, { headers: { 'Retry-After': String(retry) } });
    this.retryAfterSeconds = retry;
  }
}

/** 503 with `Retry-After`: a dependency cannot be reached for now, or the instance is going away. */
export class UnavailableError extends AppError {
  readonly retryAfterSeconds: number;
  constructor(
    message = 'Service unavailable',
    code: CodeWithStatus<503> = 'UNAVAILABLE',
    options: { cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    const retry = Math.max(1, Math.ceil(options.retryAfterSeconds ?? 1));
    super(code, 503, message, { cause: options.cause, headers: { 'Retry-After': String(retry) } });
    this.retryAfterSeconds = retry;
  }
}

/** Socket and driver codes meaning that MySQL, Redis or MongoDB could not be reached or dropped the connection. */
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
]);

/** Driver messages with no code that say the same (ioredis, mysql2). */
const UNREACHABLE_MESSAGES = [
  /^Connection is closed\.?$/,
  /^Command timed out$/,
  /^Stream isn't writeable/,
  /^Reached the max retries per request limit/,
  /^LOADING /,
  /^MASTERDOWN /,
  /^TRYAGAIN /,
  /closed state$/,
  /^Queue limit reached\.?$/,
  /^Timeout acquiring a connection/,
];

/** Error class names of drivers for the same (ioredis, MongoDB). */
const UNREACHABLE_NAMES = new Set([
  'MaxRetriesPerRequestError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoServerSelectionError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
]);

/**
 * Whether `err` (or an error it wraps) says that a backing service could not be reached: a connection
 * refused, lost or timed out, a client that gave up waiting. Bad input and programmer errors never match.
 */
export function isUnreachable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 4) return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && UNREACHABLE_CODES.has(e.code)) return true;
  if (typeof e.name === 'string' && UNREACHABLE_NAMES.has(e.name)) return true;
  if (typeof e.message === 'string' && UNREACHABLE_MESSAGES.some((re) => re.test(e.message as string)))
    return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isUnreachable(x, depth + 1))) return true;
  return isUnreachable(e.cause, depth + 1);
}

/** The error clients get while a backing service cannot be reached. */
export function dependencyUnavailable(cause: unknown): UnavailableError {
  return new UnavailableError('A backing service is unavailable; retry shortly', 'UNAVAILABLE', {
    cause,
    retryAfterSeconds: 2,
  });
}

/** The contract's error body. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId: string | null; details?: unknown[] };
}

/**
 * Turns any thrown value into an AppError: a backing service out of reach becomes UNAVAILABLE (503), other
 * unknown errors INTERNAL (500) with their text hidden.
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isUnreachable(err)) return dependencyUnavailable(err);
  return new AppError('INTERNAL', 500, 'Internal server error', { cause: err });
}

/** The envelope sent to clients for an error. */
export function errorBody(err: AppError, requestId: string | null): ErrorBody {
  const body: ErrorBody = { error: { code: err.code, message: err.message, requestId } };
  if (err.details && err.details.length) body.error.details = err.details;
  return body;
}
