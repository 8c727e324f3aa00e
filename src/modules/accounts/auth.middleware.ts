import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { UnauthenticatedError } from '../../shared/errors';
import type { TokenClaims, TokenService } from './tokens';

/** Reads a bearer token from an Authorization header value. */
export function bearerToken(header: string | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return m ? m[1] : null;
}

/** Refuses requests without a valid, unrevoked bearer token; sets `req.auth`. */
export function requireAuth(tokens: TokenService): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const token = bearerToken(req.get('authorization'));
    if (!token) throw new UnauthenticatedError('Missing bearer token');
    const claims = await tokens.verify(token);
    req.auth = { userId: claims.userId, jti: claims.jti, expiresAt: claims.expiresAt };
    next();
  };
}

/** The verified claims of an authenticated request. */
export function authOf(req: Request): TokenClaims & { userId: string } {
  if (!req.auth) throw new UnauthenticatedError();
  return { userId: req.auth.userId, jti: req.auth.jti, expiresAt: req.auth.expiresAt, issuedAt: 0 };
}
