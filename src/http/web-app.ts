import path from 'node:path';
import express, { type Router } from 'express';

/** Where `vite build` puts the web app (app/dist), the same from src/ and from dist/. */
export const WEB_APP_DIR = path.resolve(__dirname, '..', '..', 'app', 'dist');

/**
 * @openapi
 * /app:
 *   get:
 *     operationId: getWebApp
 *     tags: [Service]
 *     summary: The JIM web app (static files built from app/; hashed assets under /app/assets are immutable)
 *     security: []
 *     responses:
 *       200:
 *         description: the app's HTML page
 *         content:
 *           text/html: { schema: { type: string } }
 *       404:
 *         description: NOT_FOUND when the app was not built (npm start and npm test build it)
 *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
 */

/** Serves the built web app at /app: hashed assets cached for good, the page itself revalidated. */
export function registerWebApp(router: Router, dir = WEB_APP_DIR): void {
  router.use(
    '/app',
    express.static(dir, {
      index: 'index.html',
      fallthrough: true,
      setHeaders: (res, file) => {
        const hashed = file.includes(`${path.sep}assets${path.sep}`);
        res.setHeader('Cache-Control', hashed ? 'public, max-age=31536000, immutable' : 'no-cache');
      },
    }),
  );
}
