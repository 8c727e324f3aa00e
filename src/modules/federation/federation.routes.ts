import type { Router } from 'express';
import type { Federation } from './federation.service';

/** The well-known document and the server-to-server routes (only mounted when federation is enabled). */
export function federationRoutes(federation: Federation, domain: string): (router: Router) => void {
  return (router) => {
    router.get('/.well-known/jim/server', async (_req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=300');
      res.json(await federation.serverDocument());
    });

    router.post('/federation/v1/ping', federation.authenticate(), (_req, res) => {
      res.json({ serverName: domain, origin: res.locals.federationOrigin });
    });
  };
}
