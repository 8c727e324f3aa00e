import { buildOpenApiDocument, DEPENDENCY_FREE_PATHS } from '../../src/http/openapi';

interface ResponseObject {
  $ref?: string;
  content?: Record<string, { schema?: { $ref?: string } }>;
}
interface Operation {
  operationId?: string;
  security?: unknown[];
  responses: Record<string, ResponseObject>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, ResponseObject> };
}

const doc = buildOpenApiDocument() as Document;
const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.entries(item).map(([method, op]) => ({ where: `${method.toUpperCase()} ${path}`, op })),
);

function resolve(response: ResponseObject): ResponseObject {
  return response.$ref ? doc.components.responses[response.$ref.split('/').pop()!]! : response;
}

describe('the OpenAPI document', () => {
  it('gives every operation a camelCase operationId', () => {
    expect(operations.length).toBeGreaterThan(40);
    const bad = operations.filter(({ op }) => !/^[a-z][a-zA-Z0-9]*$/.test(op.operationId ?? ''));
    expect(bad.map((o) => o.where)).toEqual([]);
  });

  it('never gives two operations the same operationId', () => {
    const seen = new Map<string, string>();
    const duplicates: string[] = [];
    for (const { where, op } of operations) {
      const other = seen.get(op.operationId!);
      if (other) duplicates.push(`${op.operationId}: ${other} and ${where}`);
      seen.set(op.operationId!, where);
    }
    expect(duplicates).toEqual([]);
  });

  it('keeps the operationIds that generated clients are built on', () => {
    const idOf = (method: string, path: string) => doc.paths[path]?.[method]?.operationId;
    expect(idOf('post', '/api/v1/auth/register')).toBe('registerUser');
    expect(idOf('get', '/api/v1/friends')).toBe('listFriends');
    expect(idOf('post', '/api/v1/messages')).toBe('sendMessage');
    expect(idOf('get', '/api/v1/conversations/{cid}/messages')).toBe('listMessages');
  });

  it('documents 400, 413, 415 and 500 everywhere, 401 where a token is needed, 503 where a store is', () => {
    const missing: string[] = [];
    for (const { where, op } of operations) {
      const needsToken = !(Array.isArray(op.security) && op.security.length === 0);
      const usesStores = !DEPENDENCY_FREE_PATHS.has(where.split(' ')[1]!);
      const expected = [
        '400',
        '413',
        '415',
        '500',
        ...(needsToken ? ['401'] : []),
        ...(usesStores ? ['503'] : []),
      ];
      for (const status of expected) {
        if (!op.responses[status]) missing.push(`${where} ${status}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('answers every error with the error envelope (readiness excepted: it names the failed check)', () => {
    const other: string[] = [];
    for (const { where, op } of operations) {
      if (where === 'GET /readyz') continue;
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        const schema = resolve(response).content?.['application/json']?.schema;
        if (schema?.$ref !== '#/components/schemas/Error') other.push(`${where} ${status}`);
      }
    }
    expect(other).toEqual([]);
  });
});
