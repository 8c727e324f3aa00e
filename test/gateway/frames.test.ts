import { ForbiddenError } from '../../src/shared/errors';
import { errorEvent, FrameError, parseClientFrame } from '../../src/gateway/frames';

function failure(text: string): FrameError {
  try {
    parseClientFrame(text);
  } catch (err) {
    return err as FrameError;
  }
  throw new Error('expected a failure');
}

describe('parseClientFrame', () => {
  it('accepts {type, id?, data?}', () => {
    expect(parseClientFrame('{"type":"ping"}')).toEqual({ type: 'ping' });
    expect(parseClientFrame('{"type":"send","id":"c1","data":{"x":1}}')).toEqual({
      type: 'send',
      id: 'c1',
      data: { x: 1 },
    });
  });

  it('refuses text that is not a JSON object with VALIDATION_FAILED and no id', () => {
    for (const text of ['', 'nope', '[]', '1', 'null', '"ping"']) {
      const err = failure(text);
      expect(err.frameId).toBeNull();
      expect(err.error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('refuses a missing or malformed type, keeping a readable id', () => {
    expect(failure('{"id":"a"}')).toMatchObject({ frameId: 'a', error: { code: 'VALIDATION_FAILED' } });
    expect(failure('{"type":5,"id":"b"}').frameId).toBe('b');
    expect(failure(`{"type":"${'x'.repeat(40)}"}`).error.code).toBe('VALIDATION_FAILED');
  });

  it('refuses ids that are not strings of at most 64 characters, and unknown keys', () => {
    expect(failure('{"type":"ping","id":7}').frameId).toBeNull();
    expect(failure(`{"type":"ping","id":"${'i'.repeat(65)}"}`).frameId).toBeNull();
    expect(parseClientFrame(`{"type":"ping","id":"${'i'.repeat(64)}"}`).id).toHaveLength(64);
    expect(failure('{"type":"ping","id":"k","token":"t"}').error.details).toEqual([
      { field: 'token', message: 'unknown field' },
    ]);
  });
});

describe('errorEvent', () => {
  it('carries the code and message of an AppError, with the frame id or null', () => {
    expect(errorEvent('f1', new ForbiddenError('No', 'NOT_A_MEMBER'))).toEqual({
      type: 'error',
      data: { id: 'f1', code: 'NOT_A_MEMBER', message: 'No' },
    });
  });

  it('hides unexpected errors behind INTERNAL', () => {
    expect(errorEvent(null, new Error('db password is hunter2'))).toEqual({
      type: 'error',
      data: { id: null, code: 'INTERNAL', message: 'Internal server error' },
    });
  });
});
