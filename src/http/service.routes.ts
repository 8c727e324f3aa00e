import type { Router } from 'express';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';

/** A dependency the service needs to be ready. */
export interface HealthCheck {
  name: string;
  check: () => Promise<void>;
}

const CHECK_TIMEOUT_MS = 2000;

/** /healthz, /readyz and /metrics. */
export function registerServiceRoutes(
  router: Router,
  deps: { metrics: Metrics; checks: HealthCheck[]; logger: Logger },
): void {
  /**
   * @openapi
   * /healthz:
   *   get:
   *     operationId: getLiveness
   *     tags: [Service]
   *     summary: Liveness; 200 while the process runs
   *     security: []
   *     responses:
   *       200:
   *         description: alive
   *         content:
   *           application/json:
   *             schema: { type: object, properties: { status: { type: string, example: ok } } }
   */
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  /**
   * @openapi
   * /readyz:
   *   get:
   *     operationId: getReadiness
   *     tags: [Service]
   *     summary: Readiness; checks the stores in use (sqlite, or mysql, redis and mongodb) and uploads
   *     security: []
   *     responses:
   *       200:
   *         description: every dependency answers
   *         content:
   *           application/json:
   *             schema:
   *               type: object
   *               properties:
   *                 status: { type: string, example: ok }
   *                 checks: { type: object, additionalProperties: { type: string, enum: [ok, failed] }, example: { mysql: ok, redis: ok } }
   *       503:
   *         description: a dependency failed; `checks` names it (the reason is logged, never sent)
   *         content:
   *           application/json:
   *             schema:
   *               type: object
   *               properties:
   *                 status: { type: string, example: unavailable }
   *                 checks: { type: object, additionalProperties: { type: string, enum: [ok, failed] }, example: { mysql: ok, redis: failed } }
   */
  router.get('/readyz', async (_req, res) => {
    const results = await Promise.all(
      deps.checks.map(async (c) => {
        try {
          await withTimeout(c.check(), CHECK_TIMEOUT_MS);
          return [c.name, 'ok'] as const;
        } catch (err) {
          // Driver messages name hosts, users and versions: they go to the log, not to the caller.
          deps.logger.warn({ err, check: c.name }, 'readiness check failed');
          return [c.name, 'failed'] as const;
        }
      }),
    );
    const checks = Object.fromEntries(results);
    const ok = results.every(([, r]) => r === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', checks });
  });

  /**
   * @openapi
   * /metrics:
   *   get:
   *     operationId: getMetrics
   *     tags: [Service]
   *     summary: Prometheus metrics (text exposition format)
   *     security: []
   *     responses:
   *       200:
   *         description: metrics
   *         content:
   *           text/plain: { schema: { type: string } }
   */
  router.get('/metrics', async (_req, res) => {
    res.set('Content-Type', deps.metrics.registry.contentType);
    res.send(await deps.metrics.registry.metrics());
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
