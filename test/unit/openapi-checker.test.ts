import type { Response } from 'supertest';
import { buildOpenApiDocument } from '../../src/http/openapi';
import { OpenApiResponseChecker } from '../helpers/openapi';

const doc = buildOpenApiDocument() as ConstructorParameters<typeof OpenApiResponseChecker>[0];

describe('OpenApiResponseChecker', () => {
  const checker = new OpenApiResponseChecker(doc);
  const json = (status: number, body: unknown) =>
    ({
      status,
      body,
      text: JSON.stringify(body),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    }) as unknown as Response;
  const message = {
    id: '0190f5a4c1b27f3e8a9d0c1b2a3f4e5d',
    conversationId: 'p:1:2',
    seq: 1,
    senderId: '1',
    type: 'text',
    content: { text: 'hi' },
    clientMsgId: 'c-1',
    createdAt: '2026-12-02T10:00:00.000Z',
    status: 'normal',
  };

  it('accepts a message and a recalled message whose content is null', () => {
    expect(checker.problem('post', '/api/v1/messages', json(201, message))).toBeNull();
    const recalled = { ...message, content: null, status: 'recalled' };
    expect(checker.problem('post', '/api/v1/messages/m1/recall', json(200, recalled))).toBeNull();
  });

  it('refuses a body that disagrees with the schema, saying where', () => {
    const problem = checker.problem('post', '/api/v1/messages', json(201, { ...message, seq: '1' }));
    expect(problem).toMatch(/POST \/api\/v1\/messages -> 201: the body disagrees/);
    expect(problem).toMatch(/body\/seq must be integer/);
  });

  it('refuses a status the operation does not document', () => {
    const problem = checker.problem('get', '/api/v1/users/me', json(409, { error: {} }));
    expect(problem).toMatch(/status 409 is not documented/);
  });

  it('refuses a 429 without the Retry-After header the document requires', () => {
    const limited = json(429, { error: { code: 'RATE_LIMITED', message: 'slow down', requestId: 'r1' } });
    expect(checker.problem('get', '/api/v1/captcha', limited)).toMatch(
      /required header Retry-After is missing/,
    );
    (limited.headers as Record<string, string>)['retry-after'] = '3';
    expect(checker.problem('get', '/api/v1/captcha', limited)).toBeNull();
  });

  it('takes a media type range for the type it covers, and refuses an undocumented type', () => {
    const bytes = {
      status: 200,
      body: Buffer.from('png'),
      headers: { 'content-type': 'image/png' },
    } as unknown as Response;
    expect(checker.problem('get', '/api/v1/uploads/u1', bytes)).toBeNull();
    const html = {
      status: 200,
      text: '<p>',
      headers: { 'content-type': 'text/html' },
    } as unknown as Response;
    expect(checker.problem('get', '/api/v1/users/me', html)).toMatch(
      /content type 'text\/html' is not documented/,
    );
  });

  it('refuses a body on a response documented without one', () => {
    const problem = checker.problem('post', '/api/v1/auth/logout', json(204, { ok: true }));
    expect(problem).toMatch(/documented without a body/);
  });

  it('matches a literal path before a template, and a query string is not part of the path', () => {
    expect(checker.templateOf('/api/v1/users/me')).toBe('/api/v1/users/me');
    expect(checker.templateOf('/api/v1/users/12')).toBe('/api/v1/users/{userId}');
    const user = { id: '12', username: 'alice', nickname: 'Alice', avatar: null, birthDate: null };
    const page = { items: [{ ...user, presence: 'online', online: true, createdAt: message.createdAt }] };
    expect(checker.problem('get', '/api/v1/users?q=al', json(200, { ...page, nextCursor: null }))).toBeNull();
  });

  it('checks an unknown route answers with the error envelope', () => {
    expect(checker.problem('get', '/nowhere', json(404, { error: { code: 'NOT_FOUND' } }))).toMatch(
      /must have required property 'message'/,
    );
  });
});
