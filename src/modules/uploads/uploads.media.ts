import type FileTypeModule from 'file-type';
import type sharpFunction from 'sharp';
import type { UploadKind } from './uploads.store';

// The decoders load on first use: a server that never sees an upload does not pay for them (libvips alone
// is tens of MB), and start-up stays short.
let fileTypeModule: Promise<unknown> | null = null;
let sharpModule: Promise<unknown> | null = null;
let musicMetadataModule: Promise<unknown> | null = null;
/** A CommonJS package's exports, through `import()` (its `default`). */
const defaultOf = async <T>(loading: Promise<unknown>): Promise<T> =>
  ((await loading) as { default: T }).default;
const fileType = () => defaultOf<typeof FileTypeModule>((fileTypeModule ??= import('file-type')));
const sharpOf = () => defaultOf<typeof sharpFunction>((sharpModule ??= import('sharp')));
const musicMetadata = () =>
  defaultOf<typeof import('music-metadata')>((musicMetadataModule ??= import('music-metadata')));

/** Bytes file-type needs from the start of a file to tell its type. */
export const SNIFF_BYTES = 4100;

/** Image formats that are decoded, re-encoded without metadata and served inline. */
const IMAGE_FORMATS: Record<string, 'jpeg' | 'png' | 'gif' | 'webp'> = {
  'image/jpeg': 'jpeg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

/** Longest side of a thumbnail. */
export const THUMB_MAX_SIDE = 320;

/** Most pixels an image may have (a decompression bomb is refused before it is decoded). */
const MAX_INPUT_PIXELS = 50_000_000;

/** What the first bytes of a file say it is. */
export interface Sniffed {
  mime: string;
  kind: UploadKind;
}

/** Tells a file's type and kind from its first bytes (never from a name or a client's content type). */
export async function sniff(head: Buffer): Promise<Sniffed> {
  const found = head.length ? await (await fileType()).fromBuffer(head) : undefined;
  const mime = found?.mime ?? 'application/octet-stream';
  return { mime, kind: kindOfMime(mime) };
}

/** The kind a detected type belongs to. */
export function kindOfMime(mime: string): UploadKind {
  if (Object.hasOwn(IMAGE_FORMATS, mime)) return 'image';
  if (mime.startsWith('audio/')) return 'voice';
  if (mime.startsWith('video/')) return 'video';
  return 'file';
}

/** A decoded image, re-encoded without metadata, and its thumbnail. */
export interface ProcessedImage {
  width: number;
  height: number;
  size: number;
  thumbSize: number;
}

/**
 * Decodes the image at `input`, applies its EXIF orientation and writes it to `output` in the same format
 * without any metadata (EXIF, GPS, XMP, ICC comments); writes a WebP thumbnail of at most 320 px on the long
 * side to `thumbOutput`. Throws when the image does not decode.
 */
export async function processImage(
  input: string,
  mime: string,
  output: string,
  thumbOutput: string,
): Promise<ProcessedImage> {
  const format = IMAGE_FORMATS[mime];
  const sharp = await sharpOf();
  const options = { animated: true, failOn: 'error' as const, limitInputPixels: MAX_INPUT_PIXELS };
  const meta = await sharp(input, options).metadata();
  const animated = (meta.pages ?? 1) > 1;
  // Orientation applies to still images; libvips cannot rotate a multi-page (animated) image.
  let image = sharp(input, options);
  if (!animated) image = image.autoOrient();
  if (format === 'jpeg') image = image.jpeg({ quality: 90 });
  else if (format === 'png') image = image.png();
  else if (format === 'webp') image = image.webp({ quality: 90 });
  else image = image.gif();
  const info = await image.toFile(output);
  const height = animated ? (meta.pageHeight ?? info.height) : info.height;
  const thumb = await sharp(output, { failOn: 'error', limitInputPixels: MAX_INPUT_PIXELS })
    .resize(THUMB_MAX_SIDE, THUMB_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 80 })
    .toFile(thumbOutput);
  return { width: info.width, height, size: info.size, thumbSize: thumb.size };
}

/** The duration in seconds that an audio or video container states; null when it says none. */
export async function mediaDuration(file: string): Promise<number | null> {
  try {
    const { parseFile } = await musicMetadata();
    const meta = await parseFile(file, { duration: true, skipCovers: true });
    const d = meta.format.duration;
    return typeof d === 'number' && Number.isFinite(d) && d >= 0 ? Math.round(d * 1000) / 1000 : null;
  } catch {
    return null;
  }
}

/** Whether this type may be shown inline in a browser (images we re-encoded, audio, video). */
export function servedInline(kind: UploadKind, mime: string): boolean {
  if (kind === 'image') return Object.hasOwn(IMAGE_FORMATS, mime);
  return kind === 'voice' || kind === 'video';
}

// Control characters (C0, DEL, C1) and bidi overrides, which can disguise a name's extension.
// eslint-disable-next-line no-control-regex
const CONTROL_OR_BIDI = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const NAME_MAX = 255;

/**
 * A file name safe to store and to send back: the last path part only, without control or bidi characters,
 * trimmed, at most 255 characters (the extension kept); `fallback` when nothing is left.
 */
export function cleanFileName(raw: string | undefined, fallback: string): string {
  let name = (raw ?? '').normalize('NFC');
  name = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  name = name.replace(CONTROL_OR_BIDI, '').replace(/\s+/g, ' ').trim();
  if (name === '.' || name === '..') name = '';
  if (!name) return fallback;
  if (name.length > NAME_MAX) {
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
    name = name.slice(0, NAME_MAX - ext.length) + ext;
  }
  return name;
}
