import { ValidationError } from './errors';

/** An opaque list cursor: a position (a small JSON array) as base64url. */
export function encodeCursor(position: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/**
 * Reads a cursor made by `encodeCursor` and returns `accept(value)`; anything that does not decode, or that
 * `accept` answers null for, is VALIDATION_FAILED (400) on `cursor`.
 */
export function decodeCursor<T>(cursor: string, accept: (value: unknown) => T | null): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = null;
  }
  const position = accept(value);
  if (position !== null) return position;
  throw new ValidationError('Request validation failed', [
    { field: 'cursor', message: 'must be a cursor from a previous page' },
  ]);
}
