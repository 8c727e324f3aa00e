import express, { Router, type Express } from 'express';
import type { Config } from './config';
import type { Logger } from './shared/logger';
import type { Metrics } from './shared/metrics';
import { corsHeaders, securityHeaders, type OriginCheck } from './http/cors';
import { accessLog, errorHandler, notFound, requestId } from './http/middleware';
import { buildOpenApiDocument } from './http/openapi';
import { registerServiceRoutes, type HealthCheck } from './http/service.routes';
import { registerWebApp } from './http/web-app';

/** Adds one feature's routes (with their full paths) to the router. */
export type RouteModule = (router: Router) => void;

export interface AppDeps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  healthChecks: HealthCheck[];
  modules: RouteModule[];
  /** The browser origins that may call the API (`cors.origins`). */
  origins: OriginCheck;
}

/** The Express app with every route, without listening (tests drive it directly). */
export function buildApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', deps.config.server.trustProxy);
  app.set('query parser', 'simple');
  app.use(requestId());
  app.use(accessLog(deps.logger, deps.metrics));
  app.use(securityHeaders());
  app.use(corsHeaders(deps.origins, deps.config.cors.maxAgeSeconds));
  app.use(
    express.json({
      limit: deps.config.server.bodyLimit,
      strict: true,
      // Signed server-to-server requests are verified against the exact bytes their digest covers.
      verify: (req, _res, buf) => {
        if (req.url?.startsWith('/federation/')) (req as { rawBody?: Buffer }).rawBody = buf;
      },
    }),
  );

  // The document and the Swagger UI are made on their first request, not at start.
  let openapi: object | null = null;
  const document = () => (openapi ??= buildOpenApiDocument());
  const router = Router();
  registerServiceRoutes(router, { metrics: deps.metrics, checks: deps.healthChecks, logger: deps.logger });
  router.get('/openapi.json', (_req, res) => {
    res.json(document());
  });
  for (const mod of deps.modules) mod(router);
  registerWebApp(router);
  app.use(router);
  let docs: Promise<Router> | null = null;
  app.use('/docs', (req, res, next) => {
    docs ??= import('swagger-ui-express').then((loaded) => {
      // A CommonJS package through import(): its exports are the default.
      const ui = (loaded as unknown as { default: typeof loaded }).default;
      const r = Router();
      r.use(
        ui.serve,
        ui.setup(document(), {
          customSiteTitle: 'JIM API',
          // The validator badge would load an image from validator.swagger.io, which the page's policy forbids.
          swaggerOptions: { validatorUrl: null },
        }),
      );
      return r;
    });
    docs.then((r) => r(req, res, next), next);
  });

  app.use(notFound());
  app.use(errorHandler(deps.logger));
  return app;
}
