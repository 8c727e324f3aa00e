import sharp from 'sharp';
import { registerUser, startTestApp, type TestApp } from '../helpers/app';
import { bearer } from '../social/social.helpers';
import * as media from './fixtures';
import { startS3, type TestS3 } from './s3rver';
import { describeWith } from '../helpers/servers';
const needsServers = describeWith('mysql', 'redis');

needsServers('Uploads with the S3 engine (s3rver)', () => {
  let s3: TestS3;
  let app: TestApp;

  beforeAll(async () => {
    s3 = await startS3();
    app = await startTestApp({ uploads: { storage: 's3', s3: s3.settings, maxFileBytes: 5000 } });
  });
  afterAll(async () => {
    await app?.close();
    await s3?.stop();
  });

  it('stores, serves (whole, ranges, 304) and thumbnails an image in the bucket', async () => {
    const u = await registerUser(app);
    const res = await app.http
      .post('/api/v1/uploads')
      .set('Authorization', bearer(u))
      .attach('file', await media.jpegWithExif(200, 100), 'photo.jpg');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ kind: 'image', mime: 'image/jpeg', width: 100, height: 200 });
    const key = (await app.instance.services.uploads['deps'].store.findById(res.body.id))!.storageKey;
    expect(app.instance.services.uploadStorage.name).toBe('s3');
    expect(await app.instance.services.uploadStorage.has(key)).toBe(true);
    const file = await app.http.get(res.body.url).set('Authorization', bearer(u)).buffer(true);
    expect(file.status).toBe(200);
    expect(file.headers['content-type']).toBe('image/jpeg');
    expect((await sharp(file.body).metadata()).exif).toBeUndefined();
    const part = await app.http
      .get(res.body.url)
      .set('Authorization', bearer(u))
      .set('Range', 'bytes=2-5')
      .buffer(true);
    expect(part.status).toBe(206);
    expect(Buffer.from(part.body).equals(Buffer.from(file.body).subarray(2, 6))).toBe(true);
    const cached = await app.http
      .get(res.body.url)
      .set('Authorization', bearer(u))
      .set('If-None-Match', file.headers.etag);
    expect(cached.status).toBe(304);
    const thumb = await app.http.get(res.body.thumbUrl).set('Authorization', bearer(u)).buffer(true);
    expect((await sharp(thumb.body).metadata()).format).toBe('webp');
  });

  it('refuses a file over its limit with 413 and puts nothing in the bucket', async () => {
    const u = await registerUser(app);
    const res = await app.http
      .post('/api/v1/uploads')
      .set('Authorization', bearer(u))
      .attach('file', Buffer.alloc(5001, 1), 'big.bin');
    expect(res.status).toBe(413);
    const [rows] = await app.instance.mysql.query('SELECT COUNT(*) AS n FROM uploads WHERE owner_id = ?', [
      u.id,
    ]);
    expect(Number((rows as Array<{ n: number }>)[0].n)).toBe(0);
  });

  it('reports the bucket in /readyz', async () => {
    const res = await app.http.get('/readyz');
    expect(res.status).toBe(200);
    expect(res.body.checks.uploads).toBe('ok');
  });
});
