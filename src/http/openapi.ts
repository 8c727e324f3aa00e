import path from 'node:path';
import type swaggerJsdocFunction from 'swagger-jsdoc';
import { ERROR_CODE_LIST } from '../shared/error-codes';

/**
 * @openapi
 * /openapi.json:
 *   get:
 *     operationId: getOpenApiDocument
 *     tags: [Service]
 *     summary: This OpenAPI 3 document (Swagger UI at /docs)
 *     security: []
 *     responses:
 *       200:
 *         description: the document
 *         content:
 *           application/json: { schema: { type: object } }
 */

const errorContent = { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } };

/** An error response with the contract's envelope. */
function errorResponse(description: string, headers?: object): object {
  return { description, ...(headers ? { headers } : {}), content: errorContent };
}

/**
 * Answers any operation can give whatever its route, because the body parser and the error handler stand in
 * front of every route; added to each operation whose comment does not list that status itself.
 */
const COMMON_RESPONSES: Record<string, string> = {
  '400': 'BadRequest',
  '413': 'PayloadTooLarge',
  '415': 'UnsupportedMediaType',
  '500': 'Internal',
};

/** Routes that reach no database nor Redis, so never answer 503 for an outage (every other route may). */
export const DEPENDENCY_FREE_PATHS = new Set(['/healthz', '/metrics', '/openapi.json', '/app']);

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);

interface Operation {
  security?: unknown[];
  responses: Record<string, unknown>;
}

/** Builds the OpenAPI 3 document from the `@openapi` comments and the `<feature>.openapi.yaml` files beside the routes. */
export function buildOpenApiDocument(): object {
  const ext = path.extname(__filename);
  const root = path.resolve(__dirname, '..');
  // Loaded here, not at start: the server builds the document on the first request for it, and the
  // parser with its schema validator is most of a megabyte of code.
  const swaggerJsdoc = require('swagger-jsdoc') as typeof swaggerJsdocFunction;
  const doc = swaggerJsdoc({
    failOnErrors: true,
    definition: {
      openapi: '3.0.3',
      info: {
        title: 'JIM API',
        version: '1.0.0',
        license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
        description: [
          'REST API of the JIM instant-messaging server. Every id is a string, times are ISO-8601 UTC, ' +
            'errors use the envelope `{error:{code,message,requestId,details?}}`.',
          'Real-time events arrive over the WebSocket at `GET /ws` (same host and port), with the access ' +
            'token in `?token=` or `Authorization: Bearer`. The upgrade is refused with a plain HTTP error in ' +
            'the same envelope: 401 `UNAUTHENTICATED` (no, bad, expired or revoked token), 403 `FORBIDDEN` ' +
            '(a browser page of an origin that `cors.origins` does not allow), 429 ' +
            '`TOO_MANY_CONNECTIONS` (the user already holds `ws.maxConnectionsPerUser` connections) or 503 ' +
            '`UNAVAILABLE` (the instance is shutting down, or Redis or MySQL cannot be reached; reconnect after ' +
            '`Retry-After`). The first frame is ' +
            '`{type: ready, data: {userId, connectionId}}`; a connection whose token is revoked or expires is ' +
            'closed with 4001, and with 4003 when the account is disabled or deleted. Frames, events and close codes: docs/websocket.md.',
        ].join('\n\n'),
      },
      servers: [{ url: '/' }],
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
        schemas: {
          Error: {
            type: 'object',
            required: ['error'],
            properties: {
              error: {
                type: 'object',
                required: ['code', 'message', 'requestId'],
                properties: {
                  code: {
                    type: 'string',
                    enum: ERROR_CODE_LIST,
                    example: 'VALIDATION_FAILED',
                    description: 'A stable code; the table with each status and meaning is docs/errors.md',
                  },
                  message: { type: 'string' },
                  requestId: { type: 'string', nullable: true },
                  details: {
                    type: 'array',
                    description:
                      'VALIDATION_FAILED: the fields at fault; NOT_FRIENDS and BLOCKED: the users at fault; ' +
                      'SIGNATURE_INVALID: why the signature was refused',
                    items: {
                      anyOf: [
                        { $ref: '#/components/schemas/FieldProblem' },
                        { $ref: '#/components/schemas/UserProblem' },
                        { $ref: '#/components/schemas/ReasonProblem' },
                      ],
                    },
                  },
                },
              },
            },
          },
          FieldProblem: {
            type: 'object',
            required: ['field', 'message'],
            properties: { field: { type: 'string' }, message: { type: 'string' } },
          },
          UserProblem: {
            type: 'object',
            required: ['userId'],
            properties: { userId: { type: 'string' } },
          },
          ReasonProblem: {
            type: 'object',
            required: ['reason'],
            properties: { reason: { type: 'string', example: 'digest_mismatch' } },
          },
          Null: {
            description:
              'the JSON value null (OpenAPI 3.0 has no null type: an object type that only allows null)',
            type: 'object',
            nullable: true,
            enum: [null],
          },
        },
        responses: {
          BadRequest: errorResponse(
            'VALIDATION_FAILED: malformed JSON, a body that is not an object, wrong types, unknown fields',
          ),
          Unauthenticated: errorResponse('UNAUTHENTICATED: missing, invalid, expired or revoked token'),
          Forbidden: errorResponse('FORBIDDEN or a domain code'),
          NotFound: errorResponse('NOT_FOUND'),
          PayloadTooLarge: errorResponse('PAYLOAD_TOO_LARGE: the body is larger than server.bodyLimit'),
          UnsupportedMediaType: errorResponse(
            'UNSUPPORTED_MEDIA_TYPE: a body in an encoding or charset the server does not read',
          ),
          RateLimited: errorResponse('RATE_LIMITED; see the Retry-After header', {
            'Retry-After': { description: 'seconds to wait', required: true, schema: { type: 'integer' } },
          }),
          Internal: errorResponse('INTERNAL: an unexpected failure (never with its internals)'),
          Unavailable: errorResponse(
            'UNAVAILABLE: MySQL, Redis or MongoDB cannot be reached for now; retry after Retry-After',
            {
              'Retry-After': { description: 'seconds to wait', required: true, schema: { type: 'integer' } },
            },
          ),
        },
      },
      security: [{ bearerAuth: [] }],
    },
    apis: [
      path.join(root, `http/*${ext}`),
      // Read from src/ also when running from dist/: tsc does not copy them, and dist/ is built in place.
      path.join(__dirname, '../../src/modules/*/*.openapi.yaml'),
      path.join(root, `gateway/*${ext}`),
    ],
  }) as { paths: Record<string, Record<string, Operation>> };
  for (const [route, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!HTTP_METHODS.has(method)) continue;
      const responses = operation.responses;
      for (const [status, name] of Object.entries(COMMON_RESPONSES)) {
        responses[status] ??= { $ref: `#/components/responses/${name}` };
      }
      const open = Array.isArray(operation.security) && operation.security.length === 0;
      if (!open) responses['401'] ??= { $ref: '#/components/responses/Unauthenticated' };
      if (!DEPENDENCY_FREE_PATHS.has(route))
        responses['503'] ??= { $ref: '#/components/responses/Unavailable' };
    }
  }
  return doc;
}
