import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { checkExact, validationResult, type ValidationChain } from 'express-validator';
import { ValidationError, type FieldProblem } from './errors';

/** Most problems listed in one VALIDATION_FAILED answer. */
export const MAX_DETAILS = 50;

/** What is validated: an Express request, or a plain object shaped like one (such as a WebSocket frame). */
export interface ValidationSubject {
  body?: unknown;
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
}

/** One check of a value: the problem in words, or null when the value passes. */
export type Check = (value: unknown, subject: ValidationSubject) => string | null;

/** A field of a rule set: where it is, when it may be left out, and its checks (the first failure counts). */
export interface FieldRule {
  in: 'body' | 'params' | 'query';
  field: string;
  /** `undefined`: a missing field skips the checks; `null`: a missing or null one does. Else checks always run. */
  optional?: 'undefined' | 'null';
  checks: readonly Check[];
}

/**
 * A declarative rule set: checked synchronously by `checkRules`, as REST middleware by `validate` and on
 * WebSocket frame data by `checkBody`, with the same answer everywhere. Body fields it does not name are
 * refused.
 */
export interface RuleSet {
  readonly fields: readonly FieldRule[];
  readonly bodyFields: ReadonlySet<string>;
}

/** Builds a rule set from its fields. */
export function ruleSet(...fields: FieldRule[]): RuleSet {
  return { fields, bodyFields: new Set(fields.filter((f) => f.in === 'body').map((f) => f.field)) };
}

/** Makes `subject.body` an object (absent and null become `{}`), or throws the contract's answer. */
function normaliseBody(subject: ValidationSubject): Record<string, unknown> {
  if (subject.body === undefined || subject.body === null) subject.body = {};
  if (typeof subject.body !== 'object' || Array.isArray(subject.body)) {
    throw new ValidationError('Request body must be a JSON object', [
      { field: 'body', message: 'must be a JSON object' },
    ]);
  }
  return subject.body as Record<string, unknown>;
}

/** How an unknown top-level body field is named in the details (as express-validator names it). */
function fieldPath(key: string): string {
  if (key.includes('.')) return `["${key}"]`;
  if (/^\d+$/.test(key)) return `[${key}]`;
  return key === '\\*' ? '*' : key;
}

/**
 * Checks `subject` against `rules` and throws VALIDATION_FAILED listing every problem: the first failing
 * check of each field in the rule set's order, then the unknown body fields; at most MAX_DETAILS of them.
 * Synchronous, a few comparisons per field for a valid subject, so it costs next to nothing on hot paths.
 */
export function checkRules(subject: ValidationSubject, rules: RuleSet): void {
  const body = normaliseBody(subject);
  // Read once: Express parses `req.query` again on every access.
  const where = { body, params: subject.params, query: subject.query };
  let details: FieldProblem[] | null = null;
  for (const rule of rules.fields) {
    const value = where[rule.in]?.[rule.field];
    if (rule.optional && (value === undefined || (rule.optional === 'null' && value === null))) continue;
    for (const check of rule.checks) {
      const problem = check(value, subject);
      if (problem === null) continue;
      details ??= [];
      if (!details.some((d) => d.field === rule.field)) details.push({ field: rule.field, message: problem });
      break;
    }
  }
  for (const key in body) {
    if (!Object.hasOwn(body, key) || rules.bodyFields.has(key)) continue;
    details ??= [];
    details.push({ field: fieldPath(key), message: 'unknown field' });
  }
  // A body of thousands of unknown fields must not produce an answer larger than itself.
  if (details) throw new ValidationError('Request validation failed', details.slice(0, MAX_DETAILS));
}

/** Checks frame data (or any body) against `rules` and returns it typed; throws VALIDATION_FAILED. */
export function checkBody<T>(rules: RuleSet, data: unknown): T {
  const subject: ValidationSubject = { body: data };
  checkRules(subject, rules);
  return subject.body as T;
}

/**
 * Runs express-validator chains against `subject` (an Express request or a plain object shaped like one,
 * such as a WebSocket frame) and throws VALIDATION_FAILED listing every problem. Unknown body fields are
 * rejected.
 */
export async function runValidation(subject: ValidationSubject, chains: ValidationChain[]): Promise<void> {
  normaliseBody(subject);
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
    throw new ValidationError('Request validation failed', details.slice(0, MAX_DETAILS));
  }
}

/** Express middleware: checks the request against a rule set, or runs express-validator chains on it. */
export function validate(rules: RuleSet): RequestHandler;
export function validate(...chains: ValidationChain[]): RequestHandler;
export function validate(...args: [RuleSet] | ValidationChain[]): RequestHandler {
  const [first] = args;
  if (first && isRuleSet(first)) {
    return (req: Request, _res: Response, next: NextFunction) => {
      checkRules(req, first);
      next();
    };
  }
  const chains = args as ValidationChain[];
  return async (req: Request, _res: Response, next: NextFunction) => {
    await runValidation(req, chains);
    next();
  };
}

function isRuleSet(value: RuleSet | ValidationChain): value is RuleSet {
  return typeof value === 'object' && 'bodyFields' in value;
}

/** Reads a validated string; undefined when absent. */
export function optString(value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : String(value);
}
