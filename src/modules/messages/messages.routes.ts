import type { Router } from 'express';
import { validate } from '../../shared/validation';
import { limitOf } from '../../shared/validators';
import { authOf, requireAuth } from '../accounts/auth.middleware';
import type { TokenService } from '../accounts/tokens';
import { CHAT_LIST_DEFAULT_LIMIT, type MessagesService, type SendInput } from './messages.service';
import * as rules from './messages.validation';

export interface MessagesRoutesDeps {
  messages: MessagesService;
  tokens: TokenService;
}

function optInt(v: unknown): number | undefined {
  return v === undefined ? undefined : Number(v);
}

/** The messages routes; their OpenAPI description is messages.openapi.yaml, their rules messages.validation.ts. */
export function messagesRoutes(deps: MessagesRoutesDeps) {
  const auth = requireAuth(deps.tokens);
  const { messages } = deps;
  return (router: Router): void => {
    router.post('/api/v1/messages', auth, validate(rules.sendRules), async (req, res) => {
      const { message, created } = await messages.send(authOf(req).userId, req.body as SendInput);
      res.status(created ? 201 : 200).json(message);
    });

    router.get('/api/v1/conversations', auth, validate(...rules.chatListRules), async (req, res) => {
      const cursor = typeof req.query.cursor === 'string' ? req.query.cursor : null;
      const limit = limitOf(req.query.limit, CHAT_LIST_DEFAULT_LIMIT);
      res.json(await messages.conversations(authOf(req).userId, { cursor, limit }));
    });

    router.get(
      '/api/v1/conversations/:cid/messages',
      auth,
      validate(rules.historyRules),
      async (req, res) => {
        const q = req.query as Record<string, string | undefined>;
        const page = {
          beforeSeq: optInt(q.beforeSeq),
          afterSeq: optInt(q.afterSeq),
          limit: optInt(q.limit) ?? 20,
        };
        res.json(await messages.history(authOf(req).userId, String(req.params.cid), page));
      },
    );

    router.post('/api/v1/conversations/:cid/read', auth, validate(rules.readRules), async (req, res) => {
      await messages.markRead(authOf(req).userId, String(req.params.cid), req.body.seq as number);
      res.status(204).end();
    });

    router.put(
      '/api/v1/conversations/:cid/pin',
      auth,
      validate(rules.conversationRules),
      async (req, res) => {
        await messages.setPinned(authOf(req).userId, String(req.params.cid), true);
        res.status(204).end();
      },
    );

    router.delete(
      '/api/v1/conversations/:cid/pin',
      auth,
      validate(rules.conversationRules),
      async (req, res) => {
        await messages.setPinned(authOf(req).userId, String(req.params.cid), false);
        res.status(204).end();
      },
    );

    router.put(
      '/api/v1/conversations/:cid/mute',
      auth,
      validate(rules.conversationRules),
      async (req, res) => {
        await messages.setMuted(authOf(req).userId, String(req.params.cid), true);
        res.status(204).end();
      },
    );

    router.delete(
      '/api/v1/conversations/:cid/mute',
      auth,
      validate(rules.conversationRules),
      async (req, res) => {
        await messages.setMuted(authOf(req).userId, String(req.params.cid), false);
        res.status(204).end();
      },
    );

    router.post(
      '/api/v1/messages/:messageId/recall',
      auth,
      validate(rules.messageRules),
      async (req, res) => {
        res.json(await messages.recall(authOf(req).userId, String(req.params.messageId)));
      },
    );

    router.delete('/api/v1/messages/:messageId', auth, validate(rules.messageRules), async (req, res) => {
      await messages.hide(authOf(req).userId, String(req.params.messageId));
      res.status(204).end();
    });

    router.put('/api/v1/world/mutes/:userId', auth, validate(rules.worldMuteRules), async (req, res) => {
      await messages.setWorldMute(authOf(req).userId, String(req.params.userId), true);
      res.status(204).end();
    });

    router.delete('/api/v1/world/mutes/:userId', auth, validate(rules.worldMuteRules), async (req, res) => {
      await messages.setWorldMute(authOf(req).userId, String(req.params.userId), false);
      res.status(204).end();
    });
  };
}
