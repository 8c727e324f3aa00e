import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { checkExact, validationResult, type ValidationChain } from 'express-validator';
import { ValidationError, type FieldProblem } from './errors';

/** Most problems listed in one VALIDATION_FAILED answer. */
export const MAX_DETAILS = 50;

interface ValidationSubject {
  body?: unknown;
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
}

/**
 * Runs express-validator chains against `subject` (an Express request or a plain object shaped like one,
 * such as a WebSocket frame) and throws VALIDATION_FAILED listing every problem. Unknown body fields are
 * rejected.
 */
export async function runValidation(subject: ValidationSubject, chains: ValidationChain[]): Promise<void> {
  if (subject.body === undefined || subject.body === null) subject.body = {};
  if (typeof subject.body !== 'object' || Array.isArray(subject.body)) {
    throw new ValidationError('Request body must be a JSON object', [
      { field: 'body', message: 'must be a JSON object' },
    ]);
  }
  const exact = checkExact(chains, { locations: ['body'], message: 'unknown field' });
  for (const chain of chains) await chain.run(subject as Request);
  await exact.run(subject as Request);
  const result = validationResult(subject as Request);
  if (!result.isEmpty()) {
    const seen = new Set<string>();
    const details: FieldProblem[] = [];
    for (const e of result.array()) {
      if (e.type === 'field') {
        if (seen.has(e.path)) continue;
        seen.add(e.path);
        details.push({ field: e.path, message: String(e.msg) });
      } else if (e.type === 'unknown_fields') {
        for (const f of e.fields) details.push({ field: f.path, message: 'unknown field' });
      } else {
        details.push({ field: 'body', message: String(e.msg) });
      }
    }
    // A body of thousands of unknown fields must not produce an answer larger than itself.
    throw new ValidationError('Request validation failed', details.slice(0, MAX_DETAILS));
  }
}

/** Express middleware form of runValidation. */
export function validate(...chains: ValidationChain[]): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    await runValidation(req, chains);
    next();
  };
}

/** Reads a validated string; undefined when absent. */
export function optString(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : String(value);
}
