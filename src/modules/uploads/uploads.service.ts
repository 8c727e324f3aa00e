import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NotFoundError, PayloadTooLargeError } from '../../shared/errors';
import { newId, randomToken } from '../../shared/ids';
import type { Logger } from '../../shared/logger';
import { QuotaExceededError, UnsupportedMediaTypeError } from './uploads.errors';
import type { UploadAttachment } from '../messages';
import {
  cleanFileName,
  mediaDuration,
  processImage,
  servedInline,
  sniff,
  SNIFF_BYTES,
  type Sniffed,
} from './uploads.media';
import type { ByteRange, UploadStorage } from './uploads.storage';
import { UPLOAD_KINDS, type UploadKind, type UploadRecord, type UploadStore } from './uploads.store';

/** Largest upload per kind, and per user. */
export interface UploadLimits {
  maxImageBytes: number;
  maxVoiceBytes: number;
  maxVideoBytes: number;
  maxFileBytes: number;
  quotaBytes: number;
}

/** Counts one upload per user; throws RATE_LIMITED (429 with Retry-After) past the limit. */
export interface UploadRateLimit {
  consume(userId: string): Promise<void>;
}

/** Whether a user may read a message (implemented by the messages module). */
export interface MessageAccess {
  /** True when the user can read the message now: in its conversation, not hidden for them, not recalled. */
  canReadMessage(userId: string, messageId: string): Promise<boolean>;
}

export interface UploadsDeps {
  store: UploadStore;
  storage: UploadStorage;
  /** Where files are written while they arrive (created when missing). */
  tmpDir: string;
  limits: UploadLimits;
  rate: UploadRateLimit;
  access: MessageAccess;
  /** Put before `/api/v1/uploads/{id}` in URLs; empty gives the path alone. */
  publicBaseUrl: string;
  orphanTtlSeconds: number;
  logger: Logger;
}

/** The upload object of the contract. */
export interface UploadView extends UploadAttachment {
  id: string;
  createdAt: string;
}

/** An upload's bytes as they go out. */
export interface OpenedUpload {
  storageKey: string;
  mime: string;
  size: number;
  name: string;
  /** Shown inline (images we re-encoded, audio, video) or only as an attachment. */
  inline: boolean;
  /** Strong validator: the content hash. */
  etag: string;
}

/** What an admitted upload may still take. */
export interface Admission {
  userId: string;
  /** Quota left before this upload. */
  quotaLeft: number;
}

/** A file part that arrived whole in a temporary file. */
export interface Received {
  tmpPath: string;
  size: number;
  sha256: string;
  sniffed: Sniffed;
  /** Removes the temporary file. */
  discard(): Promise<void>;
}

/** Upload ids as handed out (32 hex digits). */
export const UPLOAD_ID_RE = /^[0-9a-f]{32}$/;

/** Most message references looked at when deciding whether someone may read an upload. */
const REFS_CHECKED = 200;

/**
 * Uploads: files stream into a temporary file while their bytes say what they are and the limits apply, are
 * analysed (images decoded and re-encoded without metadata, durations read), stored by content hash, and
 * served only to those who may read them: the uploader, and readers of a message that refers to the upload.
 */
export class UploadsService {
  constructor(private readonly deps: UploadsDeps) {}

  /** Creates the temporary directory. */
  async init(): Promise<void> {
    await fs.promises.mkdir(this.deps.tmpDir, { recursive: true });
  }

  /** Counts the upload against the rate limit and checks the quota before any byte is read. */
  async admit(userId: string): Promise<Admission> {
    await this.deps.rate.consume(userId);
    const used = await this.deps.store.bytesOf(userId);
    const quotaLeft = this.deps.limits.quotaBytes - used;
    if (quotaLeft <= 0) throw new QuotaExceededError(this.deps.limits.quotaBytes);
    return { userId, quotaLeft };
  }

  /** The byte limit of a kind. */
  limitOf(kind: UploadKind): number {
    const l = this.deps.limits;
    return { image: l.maxImageBytes, voice: l.maxVoiceBytes, video: l.maxVideoBytes, file: l.maxFileBytes }[
      kind
    ];
  }

  /**
   * Streams one file part into a temporary file, hashing it. Its first bytes decide its kind and so its limit;
   * past the limit (or the quota left) the stream is stopped at once with PAYLOAD_TOO_LARGE (or
   * QUOTA_EXCEEDED) and the partial file removed. The whole file is never held in memory.
   */
  async receive(source: Readable, admission: Admission): Promise<Received> {
    const tmpPath = path.join(this.deps.tmpDir, `${randomToken(12)}.part`);
    const hash = createHash('sha256');
    const maxAny = Math.max(...UPLOAD_KINDS.map((k) => this.limitOf(k)));
    const quota = this.deps.limits.quotaBytes;
    let size = 0;
    let head: Buffer[] = [];
    let headBytes = 0;
    let sniffed: Sniffed | null = null;
    let limit = Math.min(maxAny, admission.quotaLeft);
    const overLimit = (): Error =>
      sniffed && this.limitOf(sniffed.kind) <= admission.quotaLeft
        ? new PayloadTooLargeError(`A ${sniffed.kind} may have at most ${this.limitOf(sniffed.kind)} bytes`)
        : admission.quotaLeft < maxAny
          ? new QuotaExceededError(quota)
          : new PayloadTooLargeError(`An upload may have at most ${maxAny} bytes`);
    const decide = async (): Promise<void> => {
      sniffed = await sniff(Buffer.concat(head, headBytes));
      limit = Math.min(this.limitOf(sniffed.kind), admission.quotaLeft);
    };
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done: TransformCallback) {
        size += chunk.length;
        hash.update(chunk);
        if (size > limit) return done(overLimit());
        if (sniffed) return done(null, chunk);
        head.push(chunk);
        headBytes += chunk.length;
        if (headBytes < SNIFF_BYTES) return done();
        decide().then(
          () => {
            const held = Buffer.concat(head, headBytes);
            head = [];
            done(size > limit ? overLimit() : null, held);
          },
          (err: unknown) => done(err as Error),
        );
      },
      flush(done: TransformCallback) {
        if (sniffed) return done();
        decide().then(
          () => done(size > limit ? overLimit() : null, Buffer.concat(head, headBytes)),
          (err: unknown) => done(err as Error),
        );
      },
    });
    const discard = () => fs.promises.rm(tmpPath, { force: true });
    try {
      await pipeline(source, meter, fs.createWriteStream(tmpPath, { flags: 'wx' }));
    } catch (err) {
      source.resume();
      await discard();
      throw err;
    }
    return { tmpPath, size, sha256: hash.digest('hex'), sniffed: sniffed!, discard };
  }

  /**
   * Turns a received file into an upload: checks the kind asked for (when one is), decodes images (415 when
   * they do not decode), reads durations, stores the bytes by content hash and the metadata. The temporary
   * files are gone afterwards whatever happens.
   */
  async create(
    admission: Admission,
    received: Received,
    options: { name?: string; kind?: UploadKind },
  ): Promise<UploadView> {
    const extra: string[] = [];
    try {
      const { sniffed } = received;
      let kind = sniffed.kind;
      if (options.kind && options.kind !== kind) {
        // Any bytes may be sent as a plain file (kept as they are); no other kind can be claimed.
        if (options.kind !== 'file') {
          throw new UnsupportedMediaTypeError(
            `The file is ${sniffed.mime}, which is not allowed for kind ${options.kind}`,
          );
        }
        kind = 'file';
      }
      if (received.size === 0 && kind !== 'file') throw new UnsupportedMediaTypeError('The file is empty');
      let file = { path: received.tmpPath, size: received.size, sha256: received.sha256 };
      let width: number | null = null;
      let height: number | null = null;
      let duration: number | null = null;
      let thumb: { path: string; size: number; sha256: string } | null = null;
      if (kind === 'image') {
        const out = `${received.tmpPath}.img`;
        const thumbOut = `${received.tmpPath}.thumb`;
        extra.push(out, thumbOut);
        let image;
        try {
          image = await processImage(received.tmpPath, sniffed.mime, out, thumbOut);
        } catch (err) {
          this.deps.logger.debug({ err }, 'image did not decode');
          throw new UnsupportedMediaTypeError(`The ${sniffed.mime} image does not decode`);
        }
        width = image.width;
        height = image.height;
        file = { path: out, size: image.size, sha256: await hashFile(out) };
        thumb = { path: thumbOut, size: image.thumbSize, sha256: await hashFile(thumbOut) };
      } else if (kind === 'voice' || kind === 'video') {
        duration = await mediaDuration(received.tmpPath);
      }
      const stored = file.size + (thumb?.size ?? 0);
      // The quota again with what is stored now: concurrent uploads of one user were admitted together.
      if ((await this.deps.store.bytesOf(admission.userId)) + stored > this.deps.limits.quotaBytes) {
        throw new QuotaExceededError(this.deps.limits.quotaBytes);
      }
      const mime = sniffed.mime;
      await this.deps.storage.putFile(file.sha256, file.path, file.size, mime);
      if (thumb) await this.deps.storage.putFile(thumb.sha256, thumb.path, thumb.size, 'image/webp');
      const record: UploadRecord = {
        id: newId(),
        ownerId: admission.userId,
        kind,
        mime,
        size: file.size,
        name: cleanFileName(options.name, `${kind}-${received.sha256.slice(0, 8)}`),
        width,
        height,
        duration,
        storageKey: file.sha256,
        thumbKey: thumb?.sha256 ?? null,
        thumbSize: thumb?.size ?? null,
        createdAt: new Date(),
      };
      await this.deps.store.insert(record);
      return this.view(record);
    } finally {
      await received.discard();
      await Promise.all(extra.map((f) => fs.promises.rm(f, { force: true })));
    }
  }

  /** The contract's upload object. */
  view(u: UploadRecord): UploadView {
    const url = this.urlOf(u.id);
    return {
      id: u.id,
      url,
      kind: u.kind,
      mime: u.mime,
      size: u.size,
      name: u.name,
      width: u.width,
      height: u.height,
      duration: u.duration,
      thumbUrl: u.thumbKey ? `${url}?thumb=1` : null,
      createdAt: u.createdAt.toISOString(),
    };
  }

  private urlOf(id: string): string {
    return `${this.deps.publicBaseUrl.replace(/\/+$/, '')}/api/v1/uploads/${id}`;
  }

  /** The upload's bytes (or its thumbnail's) for a reader; NOT_FOUND for anyone who may not read it. */
  async open(userId: string, uploadId: string, thumb: boolean): Promise<OpenedUpload> {
    const upload = UPLOAD_ID_RE.test(uploadId) ? await this.deps.store.findById(uploadId) : null;
    if (!upload || !(await this.canRead(userId, upload))) throw new NotFoundError('Upload not found');
    if (thumb) {
      if (!upload.thumbKey) throw new NotFoundError('This upload has no thumbnail');
      return {
        storageKey: upload.thumbKey,
        mime: 'image/webp',
        size: upload.thumbSize ?? 0,
        name: `${upload.name.replace(/\.[^.]*$/, '')}.thumb.webp`,
        inline: true,
        etag: upload.thumbKey,
      };
    }
    return {
      storageKey: upload.storageKey,
      mime: upload.mime,
      size: upload.size,
      name: upload.name,
      inline: servedInline(upload.kind, upload.mime),
      etag: upload.storageKey,
    };
  }

  /** The bytes of an opened upload (a range of them when given); NOT_FOUND when the blob is gone. */
  async read(opened: OpenedUpload, range?: ByteRange): Promise<Readable> {
    const body = await this.deps.storage.read(opened.storageKey, range);
    if (!body) throw new NotFoundError('Upload not found');
    return body;
  }

  /** The uploader, or a reader of a message that refers to the upload. */
  private async canRead(userId: string, upload: UploadRecord): Promise<boolean> {
    if (upload.ownerId === userId) return true;
    for (const ref of await this.deps.store.refsOf(upload.id, REFS_CHECKED)) {
      if (await this.deps.access.canReadMessage(userId, ref.messageId)) return true;
    }
    return false;
  }

  /** What a message of `userId` may take from this upload; null unless it is theirs. */
  async attachmentFor(userId: string, uploadId: string): Promise<UploadAttachment | null> {
    const upload = UPLOAD_ID_RE.test(uploadId) ? await this.deps.store.findById(uploadId) : null;
    if (!upload || upload.ownerId !== userId) return null;
    const { id: _id, createdAt: _createdAt, ...attachment } = this.view(upload);
    return attachment;
  }

  /** Records that a stored message refers to the upload (its readers may now read it). */
  async attach(uploadId: string, messageId: string, conversationId: string): Promise<void> {
    await this.deps.store.addRef({ uploadId, messageId, conversationId });
  }

  /** Forgets the references of a message that no longer shows its content (recalled). */
  async detach(messageId: string): Promise<void> {
    await this.deps.store.removeRefsOfMessage(messageId);
  }

  /**
   * Deletes uploads that no message refers to and that are older than the orphan TTL, with their blobs when
   * no other upload shares them; also temporary files left by a crash. Returns how many uploads went.
   */
  async sweep(now = new Date()): Promise<number> {
    const before = new Date(now.getTime() - this.deps.orphanTtlSeconds * 1000);
    let removed = 0;
    for (;;) {
      const orphans = await this.deps.store.orphans(before, 100);
      for (const upload of orphans) {
        if (!(await this.deps.store.delete(upload.id))) continue;
        removed++;
        for (const key of [upload.storageKey, upload.thumbKey]) {
          if (key && !(await this.deps.store.keyInUse(key))) await this.deps.storage.delete(key);
        }
      }
      if (orphans.length < 100) break;
    }
    await this.removeStaleTemporaryFiles(now);
    return removed;
  }

  private async removeStaleTemporaryFiles(now: Date): Promise<void> {
    const names = await fs.promises.readdir(this.deps.tmpDir).catch(() => [] as string[]);
    for (const name of names) {
      const file = path.join(this.deps.tmpDir, name);
      const stat = await fs.promises.stat(file).catch(() => null);
      // An hour is far longer than any upload in progress takes to arrive and be stored.
      if (stat && now.getTime() - stat.mtimeMs > 3600_000) await fs.promises.rm(file, { force: true });
    }
  }
}

/** SHA-256 of a file, read as a stream. */
async function hashFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
