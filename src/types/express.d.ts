import 'express';

declare global {
  namespace Express {
    interface Request {
      /** Set by the request-id middleware; echoed in X-Request-Id. */
      id: string;
      /** Set by requireAuth. */
      auth?: { userId: string; jti: string; expiresAt: number };
    }
  }
}
