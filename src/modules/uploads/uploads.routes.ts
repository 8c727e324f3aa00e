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
