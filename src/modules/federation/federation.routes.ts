import type { Router } from 'express';
import type { Federation } from './federation.service';

/**
 * @openapi
 * components:
 *   schemas:
 *     FederationServerDocument:
 *       type: object
 *       required: [serverName, federationUrl, verifyKeys, oldVerifyKeys, validUntil]
 *       properties:
 *         serverName: { type: string, example: a.example }
 *         federationUrl: { type: string, example: 'https://chat.a.example' }
 *         verifyKeys:
 *           type: object
 *           description: key id → raw 32-byte ed25519 public key, base64
 *           additionalProperties: { type: string }
 *         oldVerifyKeys:
 *           type: object
 *           description: retired keys; each verifies only signatures created before its expiredAt
 *           additionalProperties:
 *             type: object
 *             required: [key, expiredAt]
 *             properties:
 *               key: { type: string }
 *               expiredAt: { type: string, format: date-time }
 *         validUntil: { type: string, format: date-time, description: how long peers may cache the keys }
 */

/** The well-known document and the server-to-server routes (only mounted when federation is enabled). */
export function federationRoutes(federation: Federation, domain: string): (router: Router) => void {
  return (router) => {
    /**
     * @openapi
     * /.well-known/jim/server:
     *   get:
     *     tags: [Federation]
     *     operationId: getFederationServerDocument
     *     summary: This server's federation identity and verify keys (only when federation is enabled)
     *     security: []
     *     responses:
     *       200:
     *         description: the server document
     *         content:
     *           application/json:
     *             schema: { $ref: '#/components/schemas/FederationServerDocument' }
     *       404:
     *         description: NOT_FOUND when federation is not enabled on this server
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
     */
    router.get('/.well-known/jim/server', async (_req, res) => {
      res.setHeader('Cache-Control', 'public, max-age=300');
      res.json(await federation.serverDocument());
    });

    /**
     * @openapi
     * /federation/v1/ping:
     *   post:
     *     tags: [Federation]
     *     operationId: federationPing
     *     summary: A signed no-op a peer uses to check that it can reach and authenticate to this server
     *     description: Server to server only; signed as docs/federation.md describes.
     *     security: []
     *     responses:
     *       200:
     *         description: the request verified
     *         content:
     *           application/json:
     *             schema:
     *               type: object
     *               required: [serverName, origin]
     *               properties:
     *                 serverName: { type: string }
     *                 origin: { type: string }
     *       401:
     *         description: unsigned, badly signed, stale, replayed or with a wrong digest (SIGNATURE_INVALID)
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
     *       403:
     *         description: the origin is not allowed, or the request is for another server (PEER_NOT_ALLOWED)
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
     *       404:
     *         description: NOT_FOUND when federation is not enabled on this server
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
     */
    router.post('/federation/v1/ping', federation.authenticate(), (_req, res) => {
      res.json({ serverName: domain, origin: res.locals.federationOrigin });
    });
  };
}
