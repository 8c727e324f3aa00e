import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import sharp from 'sharp';
import { registerUser, startTestApp, type TestApp } from '../helpers/app';
import { bearer, type User } from '../social/social.helpers';
import * as media from './fixtures';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

const UPLOADS_PER_MINUTE = 12;
const LIMITS = {
  maxImageBytes: 30_000,
  maxVoiceBytes: 20_000,
  maxVideoBytes: 25_000,
  maxFileBytes: 10_000,
  quotaBytes: 70_000,
};

/** Parses a binary response body into a Buffer. */
function binary(res: NodeJS.ReadableStream, done: (err: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => done(null, Buffer.concat(chunks)));
  res.on('error', (err) => done(err, Buffer.alloc(0)));
}

needsServers('Uploads over HTTP', () => {
  let app: TestApp;
  let tmpDir: string;

  beforeAll(async () => {
    app = await startTestApp({ uploads: LIMITS, rateLimit: { uploadsPerMinute: UPLOADS_PER_MINUTE } });
    tmpDir = path.join(app.instance.config.dataDir, 'uploads', '.tmp');
  });
  afterAll(async () => {
    await app?.close();
  });

  const upload = (u: User, bytes: Buffer, filename = 'f.bin', fields: Record<string, string> = {}) => {
    let req = app.http.post('/api/v1/uploads').set('Authorization', bearer(u));
    for (const [k, v] of Object.entries(fields)) req = req.field(k, v);
    return req.attach('file', bytes, { filename, contentType: 'image/png' });
  };
  const get = (u: User, url: string) =>
    app.http
      .get(url)
      .set('Authorization', bearer(u))
      .buffer(true)
      .parse(binary as never);
  const tmpFiles = () => fs.readdirSync(tmpDir);

  describe('POST /api/v1/uploads', () => {
    it('stores a PNG as an image with its size and a WebP thumbnail of at most 320 px', async () => {
      const u = await registerUser(app);
      const res = await upload(u, await media.png(640, 400), 'holiday.png');
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{32}$/),
        url: `/api/v1/uploads/${res.body.id}`,
        kind: 'image',
        mime: 'image/png',
        size: expect.any(Number),
        name: 'holiday.png',
        width: 640,
        height: 400,
        duration: null,
        thumbUrl: `/api/v1/uploads/${res.body.id}?thumb=1`,
        createdAt: expect.any(String),
      });
      const file = await get(u, res.body.url);
      expect(file.status).toBe(200);
      expect(file.headers['content-type']).toBe('image/png');
      expect(Number(file.headers['content-length'])).toBe(res.body.size);
      expect(await sharp(file.body).metadata()).toMatchObject({ format: 'png', width: 640, height: 400 });
      const thumb = await get(u, res.body.thumbUrl);
      expect(thumb.status).toBe(200);
      expect(thumb.headers['content-type']).toBe('image/webp');
      expect(await sharp(thumb.body).metadata()).toMatchObject({ format: 'webp', width: 320, height: 200 });
      const row = await app.instance.mysql.query('SELECT owner_id, kind, size FROM uploads WHERE id = ?', [
        res.body.id,
      ]);
      expect((row[0] as Array<Record<string, unknown>>)[0]).toEqual({
        owner_id: u.id,
        kind: 'image',
        size: String(res.body.size),
      });
    });

    it('applies EXIF orientation to a JPEG and strips its metadata (GPS) from what is served', async () => {
      const u = await registerUser(app);
      const jpeg = await media.jpegWithExif(80, 40);
      const source = await sharp(jpeg).metadata();
      expect(source.orientation).toBe(6);
      expect(source.exif?.includes(Buffer.from('TestCam'))).toBe(true);
      const res = await upload(u, jpeg, 'IMG_0001.JPG');
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ kind: 'image', mime: 'image/jpeg', width: 40, height: 80 });
      const file = await get(u, res.body.url);
      const served = await sharp(file.body).metadata();
      expect(served).toMatchObject({ format: 'jpeg', width: 40, height: 80 });
      expect(served.orientation).toBeUndefined();
      expect(served.exif).toBeUndefined();
      expect(file.body.includes(Buffer.from('TestCam'))).toBe(false);
      const thumb = await get(u, res.body.thumbUrl);
      expect(await sharp(thumb.body).metadata()).toMatchObject({ width: 40, height: 80 });
    });

    it.each([
      ['GIF', () => media.gif(40, 30), 'image/gif', 40, 30],
      ['WebP', () => media.webp(50, 20), 'image/webp', 50, 20],
    ])('stores a %s as an image', async (_label, make, mime, width, height) => {
      const u = await registerUser(app);
      const res = await upload(u, await make(), 'x.bin', { kind: 'image' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ kind: 'image', mime, width, height });
      expect((await get(u, res.body.url)).headers['content-type']).toBe(mime);
    });

    it('refuses an image that does not decode with 415 and keeps nothing', async () => {
      const u = await registerUser(app);
      const good = await media.png(64, 64);
      const corrupt = Buffer.concat([good.subarray(0, 60), Buffer.alloc(good.length - 60, 0x5a)]);
      const res = await upload(u, corrupt, 'broken.png');
      expect(res.status).toBe(415);
      expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      expect(tmpFiles()).toEqual([]);
      expect(await app.instance.services.uploads['deps'].store.bytesOf(u.id)).toBe(0);
    });

    it('takes the type from the bytes: a text file named .png sent as image/png is a plain file', async () => {
      const u = await registerUser(app);
      const text = Buffer.from('just some text, not an image\n');
      const res = await upload(u, text, 'cat.png');
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ kind: 'file', mime: 'application/octet-stream', name: 'cat.png' });
      expect(res.body.thumbUrl).toBeNull();
      const file = await get(u, res.body.url);
      expect(file.headers['content-type']).toBe('application/octet-stream');
      expect(file.headers['content-disposition']).toMatch(/^attachment; filename="cat.png"/);
      expect(file.body.equals(text)).toBe(true);
      const asImage = await upload(u, text, 'cat.png', { kind: 'image' });
      expect(asImage.status).toBe(415);
      expect(asImage.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    });

    it('never serves an SVG with a script inline, and refuses it as an image', async () => {
      const u = await registerUser(app);
      const svg = Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>',
      );
      expect((await upload(u, svg, 'logo.svg', { kind: 'image' })).status).toBe(415);
      const res = await upload(u, svg, 'logo.svg');
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ kind: 'file', mime: 'application/octet-stream' });
      const file = await get(u, res.body.url);
      expect(file.headers['content-type']).toBe('application/octet-stream');
      expect(file.headers['content-disposition']).toMatch(/^attachment;/);
      expect(file.headers['x-content-type-options']).toBe('nosniff');
      expect(file.headers['content-security-policy']).toContain("default-src 'none'");
    });

    it('reads the duration of a WAV and of an Ogg (Opus) voice clip', async () => {
      const u = await registerUser(app);
      const wav = await upload(u, media.wav(16_044), 'memo.wav', { kind: 'voice' });
      expect(wav.status).toBe(201);
      expect(wav.body).toMatchObject({ kind: 'voice', mime: 'audio/vnd.wave', duration: 1, width: null });
      const ogg = await upload(u, media.oggOpus(2.5), 'memo.ogg');
      expect(ogg.status).toBe(201);
      expect(ogg.body).toMatchObject({ kind: 'voice', mime: 'audio/opus', duration: 2.5 });
      const file = await get(u, ogg.body.url);
      expect(file.headers['content-disposition']).toMatch(/^inline;/);
      expect(file.body.equals(media.oggOpus(2.5))).toBe(true);
    });

    it('stores an MP4 as a video', async () => {
      const u = await registerUser(app);
      const res = await upload(u, media.mp4(3000), 'clip.mp4');
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ kind: 'video', mime: 'video/mp4', size: 3000 });
    });

    it('refuses a kind the bytes are not, and lets any bytes be sent as a file', async () => {
      const u = await registerUser(app);
      const wav = media.wav(2000);
      expect((await upload(u, wav, 'a.wav', { kind: 'image' })).status).toBe(415);
      expect((await upload(u, wav, 'a.wav', { kind: 'video' })).status).toBe(415);
      const asFile = await upload(u, wav, 'a.wav', { kind: 'file' });
      expect(asFile.status).toBe(201);
      expect(asFile.body).toMatchObject({ kind: 'file', mime: 'audio/vnd.wave', duration: null });
      expect((await get(u, asFile.body.url)).headers['content-disposition']).toMatch(/^attachment;/);
    });

    it('cleans file names: no path parts, no control or bidi characters', async () => {
      const u = await registerUser(app);
      // RFC 5987 lets a client send any character in filename*, percent-encoded.
      const boundary = 'jimnames';
      const raw = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename*=UTF-8''..%2F..%2Fetc%2Fpa%07ss%E2%80%AEwd.txt\r\n\r\nx\r\n--${boundary}--\r\n`,
      );
      const res = await app.http
        .post('/api/v1/uploads')
        .set('Authorization', bearer(u))
        .set('Content-Type', `multipart/form-data; boundary=${boundary}`)
        .send(raw);
      expect(res.status).toBe(201);
      expect(res.body.name).toBe('passwd.txt');
      const bare = await upload(u, Buffer.from('y'), '..');
      expect(bare.body.name).toMatch(/^file-[0-9a-f]{8}$/);
    });

    it.each([
      ['an image', 'maxImageBytes', async (n: number) => media.padTo(await media.png(), n)],
      ['a voice clip', 'maxVoiceBytes', async (n: number) => media.wav(n)],
      ['a video', 'maxVideoBytes', async (n: number) => media.mp4(n)],
      ['a file', 'maxFileBytes', async (n: number) => Buffer.alloc(n, 0x61)],
    ] as const)('takes %s just under its limit and refuses one just over with 413', async (_l, key, make) => {
      const u = await registerUser(app);
      const limit = LIMITS[key];
      const under = await upload(u, await make(limit - 1), 'under');
      expect(under.status).toBe(201);
      const over = await upload(u, await make(limit + 1), 'over');
      expect(over.status).toBe(413);
      expect(over.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(tmpFiles()).toEqual([]);
      const [rows] = await app.instance.mysql.query('SELECT COUNT(*) AS n FROM uploads WHERE owner_id = ?', [
        u.id,
      ]);
      expect(Number((rows as Array<{ n: number }>)[0].n)).toBe(1);
    });

    it('answers 413 while the body still streams, and removes the partial file', async () => {
      const u = await registerUser(app);
      const boundary = 'jimtestboundary';
      const total = 50 * 1024 * 1024;
      const url = new URL('/api/v1/uploads', app.instance.url);
      const result = await new Promise<{ status: number; body: string; sentWhenAnswered: number }>(
        (resolve, reject) => {
          let sent = 0;
          const req = http.request(url, {
            method: 'POST',
            headers: {
              authorization: bearer(u),
              'content-type': `multipart/form-data; boundary=${boundary}`,
            },
          });
          req.on('response', (res) => {
            const sentWhenAnswered = sent;
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sentWhenAnswered }));
          });
          req.on('error', (err) => (sent < total ? undefined : reject(err)));
          req.write(
            `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n`,
          );
          const stream = media.generatedStream(total);
          stream.on('data', (chunk: Buffer) => {
            sent += chunk.length;
            if (!req.write(chunk)) stream.pause();
          });
          req.on('drain', () => stream.resume());
          req.on('close', () => stream.destroy());
          stream.on('end', () => req.end(`\r\n--${boundary}--\r\n`));
        },
      );
      expect(result.status).toBe(413);
      expect(JSON.parse(result.body).error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(result.sentWhenAnswered).toBeLessThan(total);
      expect(tmpFiles()).toEqual([]);
    });

    it('refuses uploads past the quota with 409 QUOTA_EXCEEDED', async () => {
      const u = await registerUser(app);
      const piece = Buffer.alloc(LIMITS.maxFileBytes - 1, 0x62);
      const per = piece.length;
      const fit = Math.floor(LIMITS.quotaBytes / per);
      for (let i = 0; i < fit; i++) expect((await upload(u, piece, `p${i}`)).status).toBe(201);
      const past = await upload(u, piece, 'past');
      expect(past.status).toBe(409);
      expect(past.body.error.code).toBe('QUOTA_EXCEEDED');
      expect(tmpFiles()).toEqual([]);
      expect(await app.instance.services.uploads['deps'].store.bytesOf(u.id)).toBe(fit * per);
      const other = await registerUser(app);
      expect((await upload(other, piece, 'fine')).status).toBe(201);
    });

    it('limits uploads per user per minute with 429 RATE_LIMITED and Retry-After', async () => {
      const u = await registerUser(app);
      for (let i = 0; i < UPLOADS_PER_MINUTE; i++)
        expect((await upload(u, Buffer.from(`n${i}`))).status).toBe(201);
      const limited = await upload(u, Buffer.from('one more'));
      expect(limited.status).toBe(429);
      expect(limited.body.error.code).toBe('RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect((await upload(await registerUser(app), Buffer.from('other user'))).status).toBe(201);
    });

    it.each([
      [
        'no file part',
        (u: User) => app.http.post('/api/v1/uploads').set('Authorization', bearer(u)).field('kind', 'file'),
      ],
      [
        'a JSON body',
        (u: User) => app.http.post('/api/v1/uploads').set('Authorization', bearer(u)).send({ file: 'x' }),
      ],
      [
        'an unknown kind',
        (u: User) =>
          app.http
            .post('/api/v1/uploads')
            .set('Authorization', bearer(u))
            .field('kind', 'sticker')
            .attach('file', Buffer.from('x'), 'x'),
      ],
      [
        'an unknown field',
        (u: User) =>
          app.http
            .post('/api/v1/uploads')
            .set('Authorization', bearer(u))
            .field('owner', '1')
            .attach('file', Buffer.from('x'), 'x'),
      ],
      [
        'two files',
        (u: User) =>
          app.http
            .post('/api/v1/uploads')
            .set('Authorization', bearer(u))
            .attach('file', Buffer.from('x'), 'x')
            .attach('file', Buffer.from('y'), 'y'),
      ],
    ])('refuses %s with 400 VALIDATION_FAILED', async (_label, send) => {
      const u = await registerUser(app);
      const res = await send(u);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(await app.instance.services.uploads['deps'].store.bytesOf(u.id)).toBe(0);
    });

    it('needs a token', async () => {
      const res = await app.http.post('/api/v1/uploads').attach('file', Buffer.from('x'), 'x');
      expect(res.status).toBe(401);
    });
  });

  describe('GET /api/v1/uploads/{id}', () => {
    let owner: User;
    let uploaded: { id: string; url: string; size: number };
    let bytes: Buffer;

    beforeAll(async () => {
      owner = await registerUser(app);
      bytes = media.oggOpus(3);
      uploaded = (await upload(owner, bytes, 'seek.ogg')).body;
    });

    it('serves the stored type with ETag, private caching, nosniff and byte ranges', async () => {
      const res = await get(owner, uploaded.url);
      expect(res.status).toBe(200);
      expect(res.headers).toMatchObject({
        'content-type': 'audio/opus',
        'cache-control': 'private, no-cache',
        'x-content-type-options': 'nosniff',
        'accept-ranges': 'bytes',
        etag: expect.stringMatching(/^"[0-9a-f]{64}"$/),
      });
      expect(res.body.equals(bytes)).toBe(true);
    });

    it('answers 304 to a matching If-None-Match, 200 to another', async () => {
      const etag = (await get(owner, uploaded.url)).headers.etag;
      const again = await get(owner, uploaded.url).set('If-None-Match', etag);
      expect(again.status).toBe(304);
      expect(again.body.length).toBe(0);
      expect((await get(owner, uploaded.url).set('If-None-Match', '"other"')).status).toBe(200);
    });

    it('answers a Range with 206 and exactly those bytes, a suffix range too', async () => {
      const part = await get(owner, uploaded.url).set('Range', 'bytes=10-19');
      expect(part.status).toBe(206);
      expect(part.headers['content-range']).toBe(`bytes 10-19/${bytes.length}`);
      expect(part.body.equals(bytes.subarray(10, 20))).toBe(true);
      const tail = await get(owner, uploaded.url).set('Range', 'bytes=-7');
      expect(tail.status).toBe(206);
      expect(tail.body.equals(bytes.subarray(bytes.length - 7))).toBe(true);
      const open = await get(owner, uploaded.url).set('Range', `bytes=${bytes.length - 3}-`);
      expect(open.body.equals(bytes.subarray(bytes.length - 3))).toBe(true);
    });

    it('answers a range past the end with 416 and the size, and a malformed one with the whole file', async () => {
      const past = await get(owner, uploaded.url).set('Range', `bytes=${bytes.length + 10}-`);
      expect(past.status).toBe(416);
      expect(past.headers['content-range']).toBe(`bytes */${bytes.length}`);
      const bad = await get(owner, uploaded.url).set('Range', 'pages=1-2');
      expect(bad.status).toBe(200);
      expect(bad.body.length).toBe(bytes.length);
    });

    it('answers HEAD with the headers only', async () => {
      const res = await app.http.head(uploaded.url).set('Authorization', bearer(owner));
      expect(res.status).toBe(200);
      expect(Number(res.headers['content-length'])).toBe(bytes.length);
    });

    it('gives 404 to another user, for an unknown id, a malformed id and a missing thumbnail', async () => {
      const stranger = await registerUser(app);
      expect((await get(stranger, uploaded.url)).status).toBe(404);
      expect((await get(owner, `/api/v1/uploads/${'0'.repeat(32)}`)).status).toBe(404);
      expect((await get(owner, '/api/v1/uploads/..%2F..%2Fetc')).status).toBe(404);
      expect((await get(owner, `${uploaded.url}?thumb=1`)).status).toBe(404);
      expect((await get(owner, `${uploaded.url}?thumb=yes`)).status).toBe(400);
      expect((await app.http.get(uploaded.url)).status).toBe(401);
    });
  });
});
