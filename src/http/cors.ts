import type http from 'node:http';
import type { RequestHandler } from 'express';
import cors from 'cors';
import helmet from 'helmet';

/** Whether a browser page of this origin (`https://app.example.com`) may call the API and open the WebSocket. */
export type OriginCheck = (origin: string) => boolean;

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The origins of `cors.origins` (comma-separated; `*` for any, `https://*.example.com` for its subdomains).
 * Empty means the environment's default: none in production, any localhost origin elsewhere.
 */
export function originCheck(settings: { env: string; origins: string }): OriginCheck {
  const entries = settings.origins
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
  if (entries.length === 0) {
    if (settings.env === 'production') return () => false;
    return (origin) => {
      const u = parseOrigin(origin);
      return !!u && (LOCAL_HOSTS.has(u.hostname) || u.hostname.endsWith('.localhost'));
    };
  }
  if (entries.includes('*')) return (origin) => parseOrigin(origin) !== null;
  const exact = new Set(entries.filter((e) => !e.includes('*')).map((e) => new URL(e).origin));
  const wildcards = entries
    .filter((e) => e.includes('://*.'))
    .map((e) => {
      const [scheme, rest] = e.split('://*.');
      return { scheme: `${scheme}:`, suffix: `.${rest}` };
    });
  return (origin) => {
    const u = parseOrigin(origin);
    if (!u) return false;
    if (exact.has(u.origin)) return true;
    return wildcards.some((w) => u.protocol === w.scheme && u.host.endsWith(w.suffix));
  };
}

/** An http(s) origin as the URL parser normalises it, or null for `null`, paths and other schemes. */
function parseOrigin(origin: string): URL | null {
  try {
    const u = new URL(origin);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    if (u.origin !== origin.toLowerCase().replace(/\/$/, '')) return null;
    return u;
  } catch {
    return null;
  }
}

/**
 * CORS for the origins `allowed` accepts: preflights answered (204) and cached for `maxAgeSeconds`, the
 * request id and Retry-After readable by the page. Bearer tokens, not cookies, so no credentials mode.
 */
export function corsHeaders(allowed: OriginCheck, maxAgeSeconds: number): RequestHandler {
  return cors({
    origin: (origin, callback) => callback(null, origin !== undefined && allowed(origin)),
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    exposedHeaders: ['X-Request-Id', 'Retry-After'],
    maxAge: maxAgeSeconds,
  }) as RequestHandler;
}

/** Security headers on every response (helmet), with a policy the Swagger UI page at /docs works under. */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      directives: {
        // /docs is also opened over plain HTTP (development, internal hosts): upgrading its requests breaks it.
        upgradeInsecureRequests: null,
      },
    },
    // Media and other responses may be shown by the front-end's own origin; no response depends on cookies.
    crossOriginResourcePolicy: { policy: 'cross-origin' },
  });
}

/**
 * Whether a WebSocket upgrade may proceed: clients that send no Origin (not browsers) may, pages of this
 * server's own host may, and browser pages elsewhere only from an allowed origin.
 */
export function upgradeOriginCheck(allowed: OriginCheck): (req: http.IncomingMessage) => boolean {
  return (req) => {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    const u = parseOrigin(origin);
    if (u && req.headers.host && u.host === req.headers.host.toLowerCase()) return true;
    return allowed(origin);
  };
}
