import { codePointsWithin } from '../../shared/text';
import type { MessageType } from './messages.store';

/** Every message type the contract defines. */
export const MESSAGE_TYPES: readonly MessageType[] = [
  'text',
  'image',
  'voice',
  'video',
  'file',
  'location',
  'emoji',
];

export const TEXT_MAX = 4000;
export const URL_MAX = 2048;
const NAME_MAX = 255;
const LABEL_MAX = 200;
const MIME_MAX = 100;
const CODE_MAX = 64;
const DIMENSION_MAX = 100_000;
const DURATION_MAX = 86_400;
const SIZE_MAX = 1024 ** 4;
const MIME_RE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/i;
const UPLOAD_ID_RE = /^[0-9a-f]{32}$/;

/** Message types whose content may name an upload (`uploadId`) that the server fills the fields from. */
export const UPLOAD_TYPES: readonly MessageType[] = ['image', 'voice', 'video', 'file'];

/** Fields that an `uploadId` lets the sender leave out (the server fills them from the upload). */
const FILLED_FROM_UPLOAD: Partial<Record<MessageType, readonly string[]>> = {
  image: ['url'],
  voice: ['url', 'duration'],
  video: ['url'],
  file: ['url', 'name', 'size'],
};

type Rule = (value: unknown) => string | null;

interface Field {
  rule: Rule;
  required: boolean;
}

function isUrl(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string';
  if (!codePointsWithin(value, 1, URL_MAX)) return `must be 1-${URL_MAX} characters`;
  // Whitespace and control characters would be silently re-encoded by URL parsing; refuse them instead.
  if (/\s/.test(value) || [...value].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) {
    return 'must be an http or https URL';
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an http or https URL';
  }
  const ok = (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname.length > 0;
  return ok ? null : 'must be an http or https URL';
}

function str(min: number, max: number): Rule {
  return (value) => {
    if (typeof value !== 'string') return 'must be a string';
    if (!codePointsWithin(value, min, max)) return `must be ${min}-${max} characters`;
    return null;
  };
}

function int(min: number, max: number): Rule {
  return (value) =>
    typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
      ? null
      : `must be an integer from ${min} to ${max}`;
}

function num(min: number, max: number): Rule {
  return (value) =>
    typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max
      ? null
      : `must be a number from ${min} to ${max}`;
}

function mime(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > MIME_MAX || !MIME_RE.test(value))
    return 'must be a MIME type';
  return null;
}

function uploadId(value: unknown): string | null {
  return typeof value === 'string' && UPLOAD_ID_RE.test(value) ? null : 'must be an upload id';
}

function text(value: unknown): string | null {
  const problem = str(1, TEXT_MAX)(value);
  if (problem) return problem;
  return (value as string).trim() ? null : 'must not be blank';
}

const req = (rule: Rule): Field => ({ rule, required: true });
const opt = (rule: Rule): Field => ({ rule, required: false });

const SHAPES: Record<MessageType, Record<string, Field>> = {
  text: { text: req(text) },
  image: {
    url: req(isUrl),
    width: opt(int(1, DIMENSION_MAX)),
    height: opt(int(1, DIMENSION_MAX)),
    size: opt(int(0, SIZE_MAX)),
    mime: opt(mime),
    uploadId: opt(uploadId),
  },
  voice: {
    url: req(isUrl),
    duration: req(num(0, DURATION_MAX)),
    size: opt(int(0, SIZE_MAX)),
    uploadId: opt(uploadId),
  },
  video: {
    url: req(isUrl),
    duration: opt(num(0, DURATION_MAX)),
    width: opt(int(1, DIMENSION_MAX)),
    height: opt(int(1, DIMENSION_MAX)),
    size: opt(int(0, SIZE_MAX)),
    thumbUrl: opt(isUrl),
    uploadId: opt(uploadId),
  },
  file: {
    url: req(isUrl),
    name: req(str(1, NAME_MAX)),
    size: req(int(0, SIZE_MAX)),
    mime: opt(mime),
    uploadId: opt(uploadId),
  },
  location: { latitude: req(num(-90, 90)), longitude: req(num(-180, 180)), label: opt(str(1, LABEL_MAX)) },
  emoji: { code: opt(str(1, CODE_MAX)), url: opt(isUrl) },
};

/**
 * Checks `content` against the shape of `type`; returns the problems as `field: message` strings
 * (empty when valid). Unknown fields are problems; optional fields may be null. With an `uploadId`, the
 * fields the server fills from the upload (url; a voice's duration; a file's name and size) may be left out.
 */
export function contentProblems(type: unknown, content: unknown): string[] {
  if (typeof type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(type)) return [];
  if (!content || typeof content !== 'object' || Array.isArray(content))
    return ['content: must be an object'];
  const shape = SHAPES[type as MessageType];
  const obj = content as Record<string, unknown>;
  const problems: string[] = [];
  const filled =
    obj.uploadId !== undefined && obj.uploadId !== null ? FILLED_FROM_UPLOAD[type as MessageType] : [];
  for (const key of Object.keys(obj)) {
    if (!Object.hasOwn(shape, key)) problems.push(`${key}: unknown field for type ${type}`);
  }
  for (const [key, field] of Object.entries(shape)) {
    const value = obj[key];
    if (value === undefined || value === null) {
      if (field.required && !filled?.includes(key)) problems.push(`${key}: is required`);
      continue;
    }
    const problem = field.rule(value);
    if (problem) problems.push(`${key}: ${problem}`);
  }
  if (type === 'emoji') {
    const given = ['code', 'url'].filter((k) => obj[k] !== undefined && obj[k] !== null);
    if (given.length !== 1) problems.push('content: needs exactly one of code or url');
  }
  return problems;
}

/** The fields of each type's shape, in order. */
const SHAPE_KEYS = {} as Record<MessageType, readonly string[]>;
for (const type of MESSAGE_TYPES) SHAPE_KEYS[type] = Object.keys(SHAPES[type]);

/**
 * The content as stored and returned: every field of the type's shape, in the shape's order, a field
 * without a value (left out or null) present as null — the contract's "fields without a value are present
 * as null". For an emoji that is `{code, url}` with one of them null. Only the shape's fields are kept.
 */
export function normaliseContent(
  type: MessageType,
  content: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of SHAPE_KEYS[type] ?? Object.keys(content)) out[k] = content[k] ?? null;
  return out;
}

/**
 * The content as the API shows it: `content` itself when it already has every field of the shape (what
 * `normaliseContent` stored), otherwise completed with nulls (messages stored before fields were kept as null).
 */
export function contentView(
  type: MessageType,
  content: Record<string, unknown> | null,
): Record<string, unknown> | null {
  if (content === null) return null;
  const keys = SHAPE_KEYS[type];
  if (!keys) return content;
  for (const k of keys) if (!Object.hasOwn(content, k)) return normaliseContent(type, content);
  return content;
}
