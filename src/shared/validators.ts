import { body, param, query, type ValidationChain } from 'express-validator';
import { codePointsWithin } from './text';
import type { Check, FieldRule, ValidationSubject } from './validation';

/** A decimal id as used for users, groups and requests. */
export const ID_RE = /^[1-9]\d{0,18}$/;

/** Path parameter that must be an id. */
export function idParam(name: string): ValidationChain {
  return param(name).matches(ID_RE).withMessage('must be an id');
}

/** Optional `?cursor` (opaque string) and `?limit` (1..max, default given). */
export function pageQuery(max = 100): ValidationChain[] {
  return [
    query('cursor')
      .optional()
      .isString()
      // A search cursor holds a nickname: 64 code points of up to 6 bytes of JSON each, in base64.
      .isLength({ min: 1, max: 1024 })
      .withMessage('must be a cursor from a previous page'),
    query('limit')
      .optional()
      .isString()
      .withMessage(`must be an integer from 1 to ${max}`)
      .bail()
      .isInt({ min: 1, max })
      .withMessage(`must be an integer from 1 to ${max}`),
  ];
}

/** Reads `?limit` with a default. */
export function limitOf(value: unknown, fallback = 20): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** Adds a length check in code points to a chain that has checked for a string. */
export function lengthIn(
  chain: ValidationChain,
  min: number,
  max: number,
  message = `must be ${min}-${max} characters`,
): ValidationChain {
  return chain.custom((v: string) => codePointsWithin(v, min, max)).withMessage(message);
}

/** A required string body field of bounded length (in code points, as the database counts). */
export function requiredString(field: string, min: number, max: number): ValidationChain {
  const chain = body(field)
    .exists({ values: 'null' })
    .withMessage('is required')
    .bail()
    .isString()
    .withMessage('must be a string')
    .bail();
  return lengthIn(chain, min, max);
}

/** An optional string body field of bounded length in code points (null allowed when `nullable`). */
export function optionalString(field: string, min: number, max: number, nullable = false): ValidationChain {
  const chain = body(field)
    .optional({ values: nullable ? 'null' : 'undefined' })
    .isString()
    .withMessage('must be a string')
    .bail();
  return lengthIn(chain, min, max);
}

/** An optional http(s) URL of bounded length in code points (null allowed). */
export function optionalUrl(field: string, max = 1024): ValidationChain {
  const chain = body(field).optional({ values: 'null' }).isString().withMessage('must be a string').bail();
  return lengthIn(chain, 0, max, `must be at most ${max} characters`)
    .bail()
    .isURL({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
    .withMessage('must be an http or https URL');
}

/** Check: present (neither missing nor null). */
export const present: Check = (v) => (v === undefined || v === null ? 'is required' : null);

/** Check: a string. */
export function isString(message = 'must be a string'): Check {
  return (v) => (typeof v === 'string' ? null : message);
}

/** Check: a string matching `re`. */
export function matching(re: RegExp, message: string): Check {
  return (v) => (typeof v === 'string' && re.test(v) ? null : message);
}

/** Check: one of `values`. */
export function oneOf(values: readonly unknown[], message: string): Check {
  return (v) => (values.includes(v) ? null : message);
}

const INT_STRING_RE = /^[-+]?\d+$/;

/** Check: a string of decimal digits (sign and leading zeros allowed) whose value lies in [min, max]. */
export function intString(min: number, max: number, message: string): Check {
  return (v) => {
    if (typeof v !== 'string' || !INT_STRING_RE.test(v)) return message;
    const n = Number(v);
    return n >= min && n <= max ? null : message;
  };
}

/** Check: `test` holds for the value. */
export function satisfies(test: (v: unknown, subject: ValidationSubject) => boolean, message: string): Check {
  return (v, subject) => (test(v, subject) ? null : message);
}

/** Rule of a path parameter that must be an id. */
export function idParamRule(name: string): FieldRule {
  return { in: 'params', field: name, checks: [matching(ID_RE, 'must be an id')] };
}
