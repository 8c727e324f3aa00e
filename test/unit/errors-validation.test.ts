import { body } from 'express-validator';
import {
  AppError,
  ConflictError,
  RateLimitedError,
  ValidationError,
  errorBody,
  toAppError,
} from '../../src/shared/errors';
import { MAX_DETAILS, runValidation } from '../../src/shared/validation';
import { optionalString, requiredString } from '../../src/shared/validators';

describe('errors', () => {
  it('keeps an AppError as it is', () => {
    const err = new ConflictError('Username is taken', 'USERNAME_TAKEN');
    expect(toAppError(err)).toBe(err);
    expect(err).toMatchObject({ status: 409, code: 'USERNAME_TAKEN', name: 'ConflictError' });
  });

  it('turns anything else into INTERNAL with a generic message, keeping the original as cause', () => {
    const original = new Error('ER_NO_SUCH_TABLE: secret detail');
    const err = toAppError(original);
    expect(err).toMatchObject({ code: 'INTERNAL', status: 500, message: 'Internal server error' });
    expect(err.cause).toBe(original);
    expect(toAppError('a string')).toMatchObject({ code: 'INTERNAL', status: 500 });
  });

  it('builds the envelope, with details only when there are some', () => {
    expect(errorBody(new AppError('BAD_REQUEST', 400, 'm'), 'r1')).toEqual({
      error: { code: 'BAD_REQUEST', message: 'm', requestId: 'r1' },
    });
    expect(errorBody(new ValidationError('bad', []), null)).toEqual({
      error: { code: 'VALIDATION_FAILED', message: 'bad', requestId: null },
    });
    const details = [{ field: 'a', message: 'is required' }];
    expect(errorBody(new ValidationError('bad', details), 'r2').error.details).toEqual(details);
  });

  it('gives RATE_LIMITED a whole number of seconds of at least 1 in Retry-After', () => {
    expect(new RateLimitedError(0.2).headers).toEqual({ 'Retry-After': '1' });
    expect(new RateLimitedError(12.1).headers).toEqual({ 'Retry-After': '13' });
    expect(new RateLimitedError(12.1)).toMatchObject({
      status: 429,
      code: 'RATE_LIMITED',
      retryAfterSeconds: 13,
    });
  });
});

describe('runValidation', () => {
  const chains = () => [requiredString('name', 1, 10), optionalString('note', 1, 20)];

  it('accepts a valid plain object, as a WebSocket frame would carry it', async () => {
    await expect(runValidation({ body: { name: 'ok' } }, chains())).resolves.toBeUndefined();
  });

  it('lists each problem once, unknown fields included', async () => {
    const err = await runValidation({ body: { name: 5, note: '', extra: true } }, chains()).catch((e) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.details).toEqual([
      { field: 'name', message: 'must be a string' },
      { field: 'note', message: 'must be 1-20 characters' },
      { field: 'extra', message: 'unknown field' },
    ]);
  });

  it('treats a missing body as empty and refuses one that is not an object', async () => {
    const missing = await runValidation({ body: undefined }, chains()).catch((e) => e);
    expect(missing.details).toEqual([{ field: 'name', message: 'is required' }]);
    for (const b of [[1], 'text', 42, true]) {
      const err = await runValidation({ body: b }, chains()).catch((e) => e);
      expect(err).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: [{ field: 'body', message: expect.any(String) }],
      });
    }
  });

  it(`lists at most ${MAX_DETAILS} problems`, async () => {
    const b: Record<string, number> = {};
    for (let i = 0; i < 500; i++) b[`f${i}`] = i;
    const err = await runValidation({ body: b }, [body('x').optional()]).catch((e) => e);
    expect(err.details).toHaveLength(MAX_DETAILS);
  });
});
