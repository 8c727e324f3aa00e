import type { Request, Response, Router } from 'express';
import { pipeline } from 'node:stream/promises';
import contentDisposition from 'content-disposition';
import { ValidationError } from '../../shared/errors';
import { authOf, requireAuth, type TokenService } from '../accounts';
import { RangeNotSatisfiableError } from './uploads.errors';
import { readUploadForm } from './uploads.multipart';
import type { Received, UploadsService } from './uploads.service';
import { UPLOAD_KINDS, type UploadKind } from './uploads.store';

export interface UploadsRoutesDeps {
  uploads: UploadsService;
  tokens: TokenService;
}

/** After a refusal mid-upload, how long the client gets to read the answer before the connection is cut. */
const REFUSAL_GRACE_MS = 2000;

/**
 * @openapi
 * components:
 *   schemas:
 *     Upload:
 *       type: object
 *       required: [id, url, kind, mime, size, name, width, height, duration, thumbUrl, createdAt]
 *       properties:
 *         id: { type: string, example: "0190f5a4c1b27f3e8a9d0c1b2a3f4e5d" }
 *         url: { type: string, description: "UPLOADS_PUBLIC_BASE_URL + /api/v1/uploads/{id} (the path alone when that is empty)" }
 *         kind: { type: string, enum: [image, voice, video, file], description: "from the bytes, never from the client's type or name" }
 *         mime: { type: string, description: "detected from the bytes; application/octet-stream when unknown", example: image/png }
 *         size: { type: integer, description: "bytes served (an image's after it was re-encoded without metadata)" }
 *         name: { type: string, description: "the client's file name, cleaned (no path parts, no control characters)" }
 *         width: { type: integer, nullable: true, description: "images: after EXIF orientation" }
 *         height: { type: integer, nullable: true }
 *         duration: { type: number, nullable: true, description: "voice and video: seconds, when the container states it" }
 *         thumbUrl: { type: string, nullable: true, description: "images: WebP, at most 320 px on the long side" }
 *         createdAt: { type: string, format: date-time }
 * /api/v1/uploads:
 *   post:
 *     operationId: createUpload
 *     tags: [Uploads]
 *     summary: Upload a file (streamed); its kind and type come from its bytes
 *     description: >
 *       One `file` part, and optionally a `kind` field (image, voice, video or file). Without `kind` the
 *       bytes decide; with it they must agree (any file may be sent as `file`, then kept as it is). Images
 *       are decoded, EXIF orientation applied, metadata (GPS included) stripped, and get a thumbnail.
 *       Limits per kind are enforced while the body streams: past the limit the answer is 413 at once and
 *       nothing is kept. Only the uploader can read the upload until a message refers to it (content.uploadId).
 *     requestBody:
 *       required: true
 *       content:
 *         multipart/form-data:
 *           schema:
 *             type: object
 *             required: [file]
 *             properties:
 *               kind: { type: string, enum: [image, voice, video, file] }
 *               file: { type: string, format: binary }
 *     responses:
 *       201:
 *         description: stored
 *         content: { application/json: { schema: { $ref: '#/components/schemas/Upload' } } }
 *       400: { $ref: '#/components/responses/BadRequest' }
 *       401: { $ref: '#/components/responses/Unauthenticated' }
 *       409:
 *         description: QUOTA_EXCEEDED — the user's stored uploads would pass UPLOADS_QUOTA_BYTES
 *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
 *       413:
 *         description: PAYLOAD_TOO_LARGE — past the limit of the file's kind (answered as soon as it is passed)
 *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
 *       415:
 *         description: UNSUPPORTED_MEDIA_TYPE — the bytes are not of the kind asked for, or an image does not decode
 *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
 *       429: { $ref: '#/components/responses/RateLimited' }
 * /api/v1/uploads/{id}:
 *   get:
 *     operationId: getUpload
 *     tags: [Uploads]
 *     summary: The bytes of an upload (or its thumbnail), to its uploader and readers of a message that refers to it
 *     description: >
 *       Anyone else gets 404, as for an id that does not exist. Access ends with the message (recalled,
 *       deleted for the reader, history cleared) or with membership (left the group). Served with the stored
 *       Content-Type, a strong ETag, Cache-Control private, no-cache, X-Content-Type-Options nosniff; images,
 *       audio and video inline, anything else as an attachment. One byte range is honoured (206). HEAD
 *       answers with the same status and headers, without the bytes.
 *     parameters:
 *       - { in: path, name: id, required: true, schema: { type: string } }
 *       - { in: query, name: thumb, schema: { type: string, enum: ['1', 'true'] }, description: "the thumbnail (image/webp)" }
 *       - { in: header, name: Range, schema: { type: string, example: "bytes=0-1023" } }
 *       - { in: header, name: If-None-Match, schema: { type: string } }
 *     responses:
 *       200:
 *         description: the bytes, with the stored Content-Type (a thumbnail is image/webp; any type, written escaped below as a comment cannot hold it)
 *         headers:
 *           ETag: { schema: { type: string } }
 *           Cache-Control: { schema: { type: string, example: "private, no-cache" } }
 *           Content-Disposition: { schema: { type: string } }
 *           Accept-Ranges: { schema: { type: string, example: bytes } }
 *         content:
 *           "*\x2F*": { schema: { type: string, format: binary } }
 *       206:
 *         description: the requested range
 *         headers:
 *           Content-Range: { schema: { type: string, example: "bytes 0-1023/52311" } }
 *         content:
 *           "*\x2F*": { schema: { type: string, format: binary } }
 *       304: { description: "If-None-Match matched the ETag" }
 *       400: { $ref: '#/components/responses/BadRequest' }
 *       401: { $ref: '#/components/responses/Unauthenticated' }
 *       404: { $ref: '#/components/responses/NotFound' }
 *       416:
 *         description: RANGE_NOT_SATISFIABLE — the range starts past the end (Content-Range gives the size)
 *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
 */
/** POST /api/v1/uploads and GET /api/v1/uploads/{id}. */
export function uploadsRoutes(deps: UploadsRoutesDeps) {
  const auth = requireAuth(deps.tokens);
  const { uploads } = deps;

  async function create(req: Request, res: Response): Promise<void> {
    const { userId } = authOf(req);
    if (!/^multipart\/form-data\b/i.test(req.get('content-type') ?? '')) {
      throw new ValidationError('Request validation failed', [
        { field: 'body', message: 'must be multipart/form-data with a file part' },
      ]);
    }
    const admission = await uploads.admit(userId);
    let received: Received | null = null;
    try {
      const form = await readUploadForm(req, ['kind'], async (stream) => {
        received = await uploads.receive(stream, admission);
        return received;
      });
      const kind = form.fields.get('kind');
      if (kind !== undefined && !(UPLOAD_KINDS as readonly string[]).includes(kind)) {
        throw new ValidationError('Request validation failed', [
          { field: 'kind', message: `must be one of ${UPLOAD_KINDS.join(', ')}` },
        ]);
      }
      if (!form.file) {
        throw new ValidationError('Request validation failed', [{ field: 'file', message: 'is required' }]);
      }
      const view = await uploads.create(admission, form.file, {
        name: form.fileName,
        kind: kind as UploadKind | undefined,
      });
      received = null;
      res.status(201).json(view);
    } catch (err) {
      await (received as Received | null)?.discard();
      if (!req.complete) closeAfterAnswer(req, res);
      throw err;
    }
  }

  async function read(req: Request, res: Response): Promise<void> {
    const { userId } = authOf(req);
    const thumb = req.query.thumb;
    if (thumb !== undefined && thumb !== '1' && thumb !== 'true') {
      throw new ValidationError('Request validation failed', [
        { field: 'thumb', message: 'must be 1 or true' },
      ]);
    }
    const opened = await uploads.open(userId, String(req.params.id), thumb !== undefined);
    res.set({
      'Content-Type': opened.mime,
      ETag: `"${opened.etag}"`,
      'Cache-Control': 'private, no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'; sandbox",
      'Accept-Ranges': 'bytes',
      'Content-Disposition': contentDisposition(opened.name, {
        type: opened.inline ? 'inline' : 'attachment',
      }),
    });
    if (req.fresh) {
      res.status(304).end();
      return;
    }
    const ranges = req.headers.range ? req.range(opened.size, { combine: true }) : undefined;
    if (ranges === -1) throw new RangeNotSatisfiableError(opened.size);
    // A malformed header or several ranges: the whole file, as RFC 9110 allows.
    const range =
      Array.isArray(ranges) && ranges.type === 'bytes' && ranges.length === 1 ? ranges[0] : undefined;
    const body = await uploads.read(opened, range);
    if (range) {
      res.status(206);
      res.set('Content-Range', `bytes ${range.start}-${range.end}/${opened.size}`);
      res.set('Content-Length', String(range.end - range.start + 1));
    } else {
      res.set('Content-Length', String(opened.size));
    }
    if (req.method === 'HEAD') {
      body.destroy();
      res.end();
      return;
    }
    await pipeline(body, res).catch(() => {
      // The client went away or the backend failed mid-body: nothing more can be said on this response.
      res.destroy();
    });
  }

  return (router: Router): void => {
    router.post('/api/v1/uploads', auth, create);
    router.get('/api/v1/uploads/:id', auth, read);
  };
}

/**
 * A refusal before the body was read: the answer goes out now, the connection closes after it, and a client
 * that keeps sending is cut off after a grace period (the rest of the body is never stored).
 */
function closeAfterAnswer(req: Request, res: Response): void {
  res.set('Connection', 'close');
  req.resume();
  res.once('finish', () => {
    const timer = setTimeout(() => req.socket.destroy(), REFUSAL_GRACE_MS);
    timer.unref();
    req.socket.once('close', () => clearTimeout(timer));
  });
}
