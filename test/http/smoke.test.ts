import { startTestApp, registerUser, type TestApp } from '../helpers/app';

describe('smoke', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app.close();
  });

  it('registers and reads me', async () => {
    const u = await registerUser(app, { nickname: 'Alice' });
    const res = await app.http.get('/api/v1/users/me').set('Authorization', `Bearer ${u.token}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: u.id, nickname: 'Alice', online: false });
  });
});
