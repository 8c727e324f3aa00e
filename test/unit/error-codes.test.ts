import fs from 'node:fs';
import path from 'node:path';
import { buildOpenApiDocument } from '../../src/http/openapi';
import {
  ERROR_CODE_LIST,
  ERROR_CODES,
  statusAllowed,
  type ErrorCodeSpec,
} from '../../src/shared/error-codes';
import {
  AppError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
} from '../../src/shared/errors';

/** The rows of the table in docs/errors.md: code → [statuses, meaning]. */
function docsTable(): Map<string, { statuses: number[]; meaning: string }> {
  const text = fs.readFileSync(path.resolve(__dirname, '../../docs/errors.md'), 'utf8');
  const rows = new Map<string, { statuses: number[]; meaning: string }>();
  for (const line of text.split('\n')) {
    const m = /^\| `([A-Z_]+)` \| ([\d, ]+) \| (.+) \|$/.exec(line);
    if (m) rows.set(m[1], { statuses: m[2].split(',').map(Number), meaning: m[3] });
  }
  return rows;
}

describe('the error code registry', () => {
  it('is the table of docs/errors.md, row for row and in the same order', () => {
    const table = docsTable();
    expect([...table.keys()]).toEqual(ERROR_CODE_LIST);
    for (const code of ERROR_CODE_LIST) {
      const spec: ErrorCodeSpec = ERROR_CODES[code];
      expect({ code, ...table.get(code) }).toEqual({
        code,
        statuses: [spec.status, ...(spec.alsoStatus ?? [])],
        meaning: spec.meaning,
      });
    }
  });

  it('is the enum of Error.code in the OpenAPI document', () => {
    const doc = buildOpenApiDocument() as {
      components: {
        schemas: { Error: { properties: { error: { properties: { code: { enum: string[] } } } } } };
      };
    };
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toEqual(ERROR_CODE_LIST);
  });

  it('gives every error class a code whose registered status is the class status', () => {
    const errors: AppError[] = [
      new ValidationError(),
      new ValidationError('weak', [], 'WEAK_PASSWORD'),
      new UnauthenticatedError(),
      new UnauthenticatedError('bad', 'INVALID_CREDENTIALS'),
      new ForbiddenError(),
      new ForbiddenError('old password wrong', 'INVALID_CREDENTIALS'),
      new NotFoundError(),
      new ConflictError(),
      new PayloadTooLargeError(),
      new RateLimitedError(1),
      new UnavailableError(),
    ];
    for (const err of errors)
      expect([err.code, statusAllowed(err.code, err.status)]).toEqual([err.code, true]);
  });

  it('refuses, at compile time, a code that is not registered or not of the class status', () => {
    const refused = [
      // @ts-expect-error not a registered code
      () => new ForbiddenError('no', 'NOT_A_CODE'),
      // @ts-expect-error NOT_FOUND is a 404, not a 403
      () => new ForbiddenError('no', 'NOT_FOUND'),
      // @ts-expect-error MUTED is a 403, not a 409
      () => new ConflictError('no', 'MUTED'),
      // @ts-expect-error INTERNAL is answered with 500 only
      () => new AppError('INTERNAL', 400, 'no'),
    ];
    expect(refused).toHaveLength(4);
  });
});
