import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { randomToken } from '../shared/ids';
import {
  AppError,
  PayloadTooLargeError,
  ValidationError,
  errorBody,
  toAppError,
  NotFoundError,
} from '../shared/errors';
import { LogThrottle } from '../shared/log-throttle';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/** The client's X-Request-Id when it is sane, else a new random id. */
export function requestIdOf(given: string | string[] | undefined): string {
  return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomToken(12);
}

/** Gives each request an id (the client's X-Request-Id when it is sane) and echoes it. */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    req.id = requestIdOf(req.get('x-request-id'));
    res.setHeader('X-Request-Id', req.id);
    next();
  };
}

/** The route template of a request (`/api/v1/users/:userId`), or `unmatched`. */
export function routeOf(req: Request): string {
  const path = (req.route as { path?: string } | undefined)?.path;
  return typeof path === 'string' ? path : 'unmatched';
}

/**
 * One log line and one histogram sample per request, written when the response ends or the client goes
 * away first (then status 499 and `aborted: true`).
 */
export function accessLog(logger: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = routeOf(req);
      const aborted = !res.writableFinished;
      const status = aborted ? CLIENT_CLOSED : res.statusCode;
      metrics.httpDuration.observe({ method: req.method, route, status: String(status) }, seconds);
      if (req.path === '/healthz' || req.path === '/metrics') return;
      const line = {
        reqId: req.id,
        method: req.method,
        route,
        status,
        latencyMs: Math.round(seconds * 1e6) / 1e3,
        // The caller, or for register/login the account that just signed in.
        userId: req.auth?.userId ?? (res.locals.userId as string | undefined) ?? null,
        ip: req.ip,
        errorCode: res.locals.errorCode ?? undefined,
        aborted: aborted || undefined,
      };
      // A 503 is an outage of a dependency or a shutdown, not a bug: its own warning says which.
      if (status === 503) logger.warn(line, 'request');
      else if (status >= 500 && status !== CLIENT_CLOSED) logger.error(line, 'request');
      else logger.info(line, 'request');
    });
    next();
  };
}

/** The status logged for a request whose client left before the answer was complete (as nginx does). */
const CLIENT_CLOSED = 499;

/** JSON 404 for routes nobody serves. */
export function notFound(): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    next(new NotFoundError(`No route for ${req.method} ${req.path}`));
  };
}

/**
 * Turns every error into the contract's envelope. Unexpected errors are logged with their cause and stack;
 * a dependency out of reach (503) as a warning without a stack, at most one line per cause every few seconds.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  const outages = new LogThrottle(logger);
  return (err: unknown, req, res, _next) => {
    const appErr = fromExpressError(err);
    if (appErr.status === 503) {
      outages.outage(appErr, { reqId: req.id }, 'dependency unavailable; answering 503');
    } else if (appErr.status >= 500) {
      logger.error({ reqId: req.id, err: appErr.cause ?? err }, appErr.message);
    }
    res.locals.errorCode = appErr.code;
    if (res.headersSent) {
      res.end();
      return;
    }
    if (appErr.headers) res.set(appErr.headers);
    // A route may have set the headers of the body it meant to send (a download's type and disposition).
    res.removeHeader('Content-Disposition');
    res.type('application/json');
    res.status(appErr.status).json(errorBody(appErr, req.id ?? null));
  };
}

/** Maps body-parser failures to contract errors; everything else through toAppError. */
function fromExpressError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { type?: string; status?: number };
  if (e?.type === 'entity.too.large') return new PayloadTooLargeError('Request body is too large');
  if (e?.type === 'entity.parse.failed') {
    return new ValidationError('Malformed JSON body', [{ field: 'body', message: 'malformed JSON' }]);
  }
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') {
    return new AppError('UNSUPPORTED_MEDIA_TYPE', 415, 'Unsupported body encoding');
  }
  if (e?.status === 400) {
    return new ValidationError('Unreadable request body', [
      { field: 'body', message: 'could not be decoded' },
    ]);
  }
  // Any other refusal of the body parser: one code with the one status the registry gives it.
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return new AppError('BAD_REQUEST', 400, 'Bad request');
  }
  return toAppError(err);
}
