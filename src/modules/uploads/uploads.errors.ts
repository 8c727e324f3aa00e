import { AppError, ConflictError } from '../../shared/errors';

/** 415: the bytes are not a type the kind allows, or an image does not decode. */
export class UnsupportedMediaTypeError extends AppError {
  constructor(message = 'Unsupported media type') {
    super('UNSUPPORTED_MEDIA_TYPE', 415, message);
  }
}

/** 409: the user's stored uploads would pass their quota. */
export class QuotaExceededError extends ConflictError {
  constructor(quotaBytes: number) {
    super(`Your uploads would pass your quota of ${quotaBytes} bytes`, 'QUOTA_EXCEEDED');
  }
}

/** 416: the Range asks for bytes past the end. */
export class RangeNotSatisfiableError extends AppError {
  constructor(size: number) {
    super('RANGE_NOT_SATISFIABLE', 416, 'The requested range is not satisfiable', {
      headers: { 'Content-Range': `bytes */${size}` },
    });
  }
}
