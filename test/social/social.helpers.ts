import { registerUser, type TestApp } from '../helpers/app';

export type User = Awaited<ReturnType<typeof registerUser>>;

/** `Authorization` header value of a user. */
export function bearer(u: { token: string }): string {
  return `Bearer ${u.token}`;
}

/** Registers `n` users. */
export async function users(app: TestApp, n: number): Promise<User[]> {
  const out: User[] = [];
  for (let i = 0; i < n; i++) out.push(await registerUser(app));
  return out;
}

/** Creates a group owned by `owner` through the API. */
export async function createGroup(
  app: TestApp,
  owner: User,
  body: Record<string, unknown> = {},
): Promise<{ id: string } & Record<string, unknown>> {
  const res = await app.http
    .post('/api/v1/groups')
    .set('Authorization', bearer(owner))
    .send({ name: 'Team', ...body });
  if (res.status !== 201) throw new Error(`create group failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Joins an open group through the API. */
export async function joinOpen(app: TestApp, groupId: string, u: User): Promise<void> {
  const res = await app.http.post(`/api/v1/groups/${groupId}/join`).set('Authorization', bearer(u)).send({});
  if (res.status !== 200) throw new Error(`join failed: ${res.status} ${JSON.stringify(res.body)}`);
}
