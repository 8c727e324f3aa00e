import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { ValidationError } from '../../shared/errors';

/** The parts of an upload form: the file (already being consumed by `onFile`) and the text fields. */
export interface UploadForm<T> {
  file: T | null;
  fileName: string | undefined;
  fields: Map<string, string>;
}

/**
 * Parses a `multipart/form-data` body with one `file` part, streaming: `onFile` gets the part's stream as it
 * arrives and must consume it. Rejects as soon as `onFile` does (the rest of the body is not read), and with
 * VALIDATION_FAILED for a body that is not multipart, a second file, unknown or oversized fields.
 */
export function readUploadForm<T>(
  req: Readable & { headers: IncomingHttpHeaders },
  allowedFields: readonly string[],
  onFile: (stream: Readable) => Promise<T>,
): Promise<UploadForm<T>> {
  return new Promise((resolve, reject) => {
    const invalid = (field: string, message: string) =>
      new ValidationError('Request validation failed', [{ field, message }]);
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        // busboy signals a limit when the count reaches it: one more part than the fields and the file.
        limits: { files: 1, fields: allowedFields.length, fieldSize: 1024, parts: allowedFields.length + 2 },
      });
    } catch {
      reject(invalid('body', 'must be multipart/form-data with a file part'));
      return;
    }
    let settled = false;
    let pending: Promise<T> | null = null;
    let fileName: string | undefined;
    let fileStream: Readable | null = null;
    const fields = new Map<string, string>();
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      req.unpipe(bb);
      // The file part would wait for bytes that never come: end it, so its consumer cleans up.
      fileStream?.destroy(new Error('upload refused'));
      const done = pending
        ? pending.then(
            () => undefined,
            () => undefined,
          )
        : Promise.resolve();
      void done.then(() => reject(err));
    };
    bb.on('file', (name, stream, info) => {
      if (name !== 'file' || pending) {
        stream.resume();
        fail(invalid(name, name === 'file' ? 'only one file per upload' : 'unknown field'));
        return;
      }
      fileName = info.filename;
      fileStream = stream;
      pending = onFile(stream);
      pending.catch(fail);
    });
    bb.on('field', (name, value, info) => {
      if (!allowedFields.includes(name)) fail(invalid(name, 'unknown field'));
      else if (info.valueTruncated) fail(invalid(name, 'is too long'));
      else fields.set(name, value);
    });
    for (const event of ['filesLimit', 'fieldsLimit', 'partsLimit'] as const) {
      bb.on(event, () => fail(invalid('body', 'too many parts')));
    }
    bb.on('error', () => fail(invalid('body', 'is not a well-formed multipart/form-data body')));
    bb.on('close', () => {
      if (settled) return;
      if (!pending) {
        settled = true;
        resolve({ file: null, fileName, fields });
        return;
      }
      pending.then((file) => {
        if (settled) return;
        settled = true;
        resolve({ file, fileName, fields });
      }, fail);
    });
    req.on('aborted', () => fail(invalid('body', 'the upload was cut off')));
    req.pipe(bb);
  });
}
