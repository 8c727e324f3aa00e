import { AppError, toAppError, ValidationError } from '../shared/errors';
import type { ClientFrame, ServerEvent } from './gateway.types';

/** Longest client frame id. */
export const MAX_FRAME_ID = 64;

const FRAME_KEYS = new Set(['type', 'id', 'data']);
const TYPE_PATTERN = /^[a-z][a-z0-9._-]{0,31}$/;

/** Parses and checks a client text frame `{type, id?, data?}`; throws VALIDATION_FAILED with the id when it can be read. */
export function parseClientFrame(text: string): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FrameError(null, new ValidationError('Frame is not valid JSON'));
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new FrameError(null, new ValidationError('Frame must be a JSON object'));
  }
  const obj = value as Record<string, unknown>;
  const id = typeof obj.id === 'string' && obj.id.length <= MAX_FRAME_ID ? obj.id : null;
  const problems: Array<{ field: string; message: string }> = [];
  if (typeof obj.type !== 'string' || !TYPE_PATTERN.test(obj.type)) {
    problems.push({ field: 'type', message: 'must be a frame type name' });
  }
  if (obj.id !== undefined && id === null) {
    problems.push({ field: 'id', message: `must be a string of at most ${MAX_FRAME_ID} characters` });
  }
  for (const key of Object.keys(obj)) {
    if (!FRAME_KEYS.has(key)) problems.push({ field: key, message: 'unknown field' });
  }
  if (problems.length) throw new FrameError(id, new ValidationError('Invalid frame', problems));
  const frame: ClientFrame = { type: obj.type as string };
  if (id !== null) frame.id = id;
  if (obj.data !== undefined) frame.data = obj.data;
  return frame;
}

/** An error tied to the client frame id it answers (null when the frame had none or it was unreadable). */
export class FrameError extends Error {
  constructor(
    readonly frameId: string | null,
    readonly error: AppError,
  ) {
    super(error.message);
  }
}

/** The `error` frame for a failure answering frame `id`. */
export function errorEvent(id: string | null, err: unknown): ServerEvent {
  const app = toAppError(err);
  const data: { id: string | null; code: string; message: string; details?: unknown[] } = {
    id,
    code: app.code,
    message: app.message,
  };
  if (app.details && app.details.length) data.details = app.details;
  return { type: 'error', data };
}
