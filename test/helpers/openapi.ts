import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import request, { type Response } from 'supertest';
import { buildOpenApiDocument } from '../../src/http/openapi';

interface MediaType {
  schema?: object;
}
interface ResponseObject {
  $ref?: string;
  description?: string;
  headers?: Record<string, { required?: boolean }>;
  content?: Record<string, MediaType>;
}
interface Operation {
  operationId?: string;
  responses: Record<string, ResponseObject>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components?: { responses?: Record<string, ResponseObject> };
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/**
 * Checks HTTP responses against the OpenAPI document the app serves: the route's operation must document
 * the status, and a JSON body must match the schema documented for that status.
 */
export class OpenApiResponseChecker {
  private readonly ajv: Ajv;
  private readonly routes: Array<{ template: string; re: RegExp; params: number }>;
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(private readonly doc: Document) {
    // `nullable` is understood natively (OpenAPI 3.0); OpenAPI-only keywords such as `example` are ignored.
    // `iri` (a URL that may hold any Unicode character) is left unchecked: ajv-formats has no IRI check.
    this.ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false, formats: { iri: true } });
    addFormats(this.ajv);
    this.ajv.addSchema(doc as object, 'openapi');
    this.routes = Object.keys(doc.paths)
      .map((template) => {
        const params = (template.match(/\{[^}]+\}/g) ?? []).length;
        const pattern = template
          .split(/\{[^}]+\}/)
          .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
          .join('[^/]+');
        return { template, re: new RegExp(`^${pattern}$`), params };
      })
      // A literal path (/users/me) wins over a template that also matches it (/users/{userId}).
      .sort((a, b) => a.params - b.params);
  }

  /** The documented path template that a concrete request path falls under, or null. */
  templateOf(path: string): string | null {
    return this.routes.find((r) => r.re.test(path))?.template ?? null;
  }

  /** Why the response disagrees with the document, or null when it agrees. */
  problem(method: string, url: string, res: Response): string | null {
    const path = new URL(url, 'http://x').pathname;
    const where = `${method.toUpperCase()} ${path} -> ${res.status}`;
    const template = this.templateOf(path);
    const operation = template ? this.doc.paths[template]?.[method.toLowerCase()] : undefined;
    if (!template || !operation) {
      // Routes the document does not describe (unknown paths, /docs assets) answer with the error envelope.
      if (res.status >= 400 && isJson(res)) {
        return this.schemaProblem(where, '#/components/schemas/Error', res.body);
      }
      return null;
    }
    const pointer = `#/paths/${escapePointer(template)}/${method.toLowerCase()}/responses`;
    const key = [String(res.status), `${String(res.status)[0]}XX`, 'default'].find(
      (k) => operation.responses[k],
    );
    if (!key) {
      const documented = Object.keys(operation.responses).join(', ');
      return `${where}: status ${res.status} is not documented (documented: ${documented}); body ${bodyOf(res)}`;
    }
    let response = operation.responses[key]!;
    let responsePointer = `${pointer}/${key}`;
    if (response.$ref) {
      responsePointer = response.$ref;
      response = this.doc.components?.responses?.[response.$ref.split('/').pop()!] ?? {};
    }
    const missing = Object.entries(response.headers ?? {})
      .filter(([name, header]) => header.required && res.headers[name.toLowerCase()] === undefined)
      .map(([name]) => name);
    if (missing.length) return `${where}: the required header ${missing.join(', ')} is missing`;
    const content = response.content ?? {};
    if (Object.keys(content).length === 0) {
      const empty = res.text === undefined || res.text === '';
      return empty ? null : `${where}: documented without a body, but got ${bodyOf(res)}`;
    }
    const actual = String(res.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    // The most specific documented media type (or range) that covers the actual one.
    const type = [actual, `${actual.split('/')[0]}/*`, '*/*'].find((t) => content[t]) ?? actual;
    if (!content[type]) {
      return `${where}: content type '${actual}' is not documented (documented: ${Object.keys(content).join(', ')})`;
    }
    if (!isJson(res) || !content[type].schema) return null;
    // A test that reads the body as bytes (to check a download) still gets its JSON errors checked.
    const body: unknown = Buffer.isBuffer(res.body) ? JSON.parse(res.body.toString('utf8')) : res.body;
    return this.schemaProblem(where, `${responsePointer}/content/${escapePointer(type)}/schema`, body);
  }

  private schemaProblem(where: string, pointer: string, body: unknown): string | null {
    let validate = this.compiled.get(pointer);
    if (!validate) {
      validate = this.ajv.getSchema(`openapi${pointer}`);
      if (!validate) return `${where}: no schema at ${pointer}`;
      this.compiled.set(pointer, validate);
    }
    if (validate(body)) return null;
    const errors = (validate.errors ?? [])
      .map((e) => `  body${e.instancePath} ${e.message} (${e.schemaPath})`)
      .join('\n');
    return `${where}: the body disagrees with ${pointer}\n${errors}\nbody: ${bodyOf({ text: JSON.stringify(body) })}`;
  }
}

function isJson(r: { headers: Record<string, string> }): boolean {
  return /^application\/(.+\+)?json\b/.test(String(r.headers['content-type'] ?? ''));
}

function bodyOf(r: { text?: string }): string {
  const text = r.text ?? '';
  return text.length > 500 ? `${text.slice(0, 500)}...` : text || '(empty)';
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

let shared: OpenApiResponseChecker | undefined;

/** One checker per test file, on the document the app serves. */
export function openApiChecker(): OpenApiResponseChecker {
  shared ??= new OpenApiResponseChecker(buildOpenApiDocument() as Document);
  return shared;
}

/**
 * A supertest client for `url` whose every response is checked against the OpenAPI document; a response
 * that disagrees with it fails the request (and so the test) with a message that says where and why.
 */
export function validatedRequest(url: string): ReturnType<typeof request> {
  const agent = request(url);
  const checker = openApiChecker();
  return new Proxy(agent, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || typeof value !== 'function') return value;
      const method = prop === 'del' ? 'delete' : prop;
      if (!HTTP_METHODS.includes(method)) return value;
      return (path: string, ...rest: unknown[]) =>
        (value as (...a: unknown[]) => request.Test).call(target, path, ...rest).expect((r: Response) => {
          const problem = checker.problem(method, path, r);
          if (problem) throw new Error(`response disagrees with the OpenAPI document: ${problem}`);
        });
    },
  });
}
