/** One problem with one input field, as listed in an error's `details`. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** A failure with a stable code that clients can rely on, and the HTTP status it maps to. */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: unknown[];
  readonly headers?: Record<string, string>;

  constructor(
    code: string,
    status: number,
    message: string,
    options: { details?: unknown[]; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.details = options.details;
    this.headers = options.headers;
  }
}

export class ValidationError extends AppError {
  constructor(message = 'Request validation failed', details?: FieldProblem[], code = 'VALIDATION_FAILED') {
    super(code, 400, message, { details });
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'Authentication required', code = 'UNAUTHENTICATED') {
    super(code, 401, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed', code = 'FORBIDDEN', details?: unknown[]) {
    super(code, 403, message, { details });
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'Not found', code = 'NOT_FOUND') {
    super(code, 404, message);
  }
}

export class ConflictError extends AppError {
  constructor(message = 'Conflict', code = 'CONFLICT', details?: unknown[]) {
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

export class UnavailableError extends AppError {
  constructor(message = 'Service unavailable', code = 'UNAVAILABLE') {
    super(code, 503, message);
  }
}

/** The contract's error body. */
export interface ErrorBody {
  error: { code: string; message: string; requestId: string | null; details?: unknown[] };
}

/** Turns any thrown value into an AppError; unknown errors become INTERNAL with their text hidden. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError('INTERNAL', 500, 'Internal server error', { cause: err });
}

/** The envelope sent to clients for an error. */
export function errorBody(err: AppError, requestId: string | null): ErrorBody {
  const body: ErrorBody = { error: { code: err.code, message: err.message, requestId } };
  if (err.details && err.details.length) body.error.details = err.details;
  return body;
}
