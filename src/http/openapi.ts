import path from 'node:path';
import swaggerJsdoc from 'swagger-jsdoc';

/**
 * @openapi
 * /openapi.json:
 *   get:
 *     tags: [Service]
 *     summary: This OpenAPI 3 document (Swagger UI at /docs)
 *     security: []
 *     responses:
 *       200:
 *         description: the document
 *         content:
 *           application/json: { schema: { type: object } }
 */

/** Builds the OpenAPI 3 document from the `@openapi` comments beside the routes. */
export function buildOpenApiDocument(): object {
  const ext = path.extname(__filename);
  const root = path.resolve(__dirname, '..');
  return swaggerJsdoc({
    failOnErrors: true,
    definition: {
      openapi: '3.0.3',
      info: {
        title: 'JIM API',
        version: '1.0.0',
        description:
          'REST API of the JIM instant-messaging server. Every id is a string, times are ISO-8601 UTC, ' +
          'errors use the envelope `{error:{code,message,requestId,details?}}`. Real-time events arrive ' +
          'over the WebSocket at `/ws` (see docs/websocket.md).',
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
                  code: { type: 'string', example: 'VALIDATION_FAILED' },
                  message: { type: 'string' },
                  requestId: { type: 'string', nullable: true },
                  details: { type: 'array', items: {} },
                },
              },
            },
          },
          FieldProblem: {
            type: 'object',
            properties: { field: { type: 'string' }, message: { type: 'string' } },
          },
        },
        responses: {
          BadRequest: {
            description: 'VALIDATION_FAILED: malformed JSON, wrong types, unknown fields',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
          Unauthenticated: {
            description: 'UNAUTHENTICATED: missing, invalid, expired or revoked token',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
          Forbidden: {
            description: 'FORBIDDEN or a domain code',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
          NotFound: {
            description: 'NOT_FOUND',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
          Conflict: {
            description: 'CONFLICT or a domain code',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
          RateLimited: {
            description: 'RATE_LIMITED; see the Retry-After header',
            headers: { 'Retry-After': { schema: { type: 'integer' } } },
            content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          },
        },
      },
      security: [{ bearerAuth: [] }],
    },
    apis: [
      path.join(root, `http/*${ext}`),
      path.join(root, `modules/**/*.routes${ext}`),
      path.join(root, `gateway/*${ext}`),
    ],
  });
}
