import type { Request, Response, Router } from 'express';
import { validate } from '../../shared/validation';
import { limitOf } from '../../shared/validators';
import { authOf, requireAuth, type TokenService } from '../accounts';
import { CHAT_LIST_DEFAULT_LIMIT, type MessagesService, type SendInput } from './messages.service';
import * as v from './messages.validation';

export interface MessagesRoutesDeps {
  messages: MessagesService;
  tokens: TokenService;
}

type Handler = (req: Request, res: Response) => Promise<void>;

const me = (req: Request) => authOf(req).userId;
const optInt = (value: unknown) => (value === undefined ? undefined : Number(value));

/** The messages routes (described in messages.openapi.yaml, checked by messages.validation.ts). */
export function messagesRoutes(deps: MessagesRoutesDeps) {
  const auth = requireAuth(deps.tokens);
  const { messages } = deps;

  const send: Handler = async (req, res) => {
    const { message, created } = await messages.send(me(req), req.body as SendInput);
    res.status(created ? 201 : 200).json(message);
  };
  const conversations: Handler = async (req, res) => {
    const cursor = typeof req.query.cursor === 'string' ? req.query.cursor : null;
    const limit = limitOf(req.query.limit, CHAT_LIST_DEFAULT_LIMIT);
    res.json(await messages.conversations(me(req), { cursor, limit }));
  };
  const history: Handler = async (req, res) => {
    const { beforeSeq, afterSeq, limit } = req.query;
    const page = { beforeSeq: optInt(beforeSeq), afterSeq: optInt(afterSeq), limit: optInt(limit) ?? 20 };
    res.json(await messages.history(me(req), String(req.params.cid), page));
  };
  const read: Handler = async (req, res) => {
    await messages.markRead(me(req), String(req.params.cid), req.body.seq as number);
    res.status(204).end();
  };
  const pin =
    (pinned: boolean): Handler =>
    async (req, res) => {
      await messages.setPinned(me(req), String(req.params.cid), pinned);
      res.status(204).end();
    };
  const mute =
    (muted: boolean): Handler =>
    async (req, res) => {
      await messages.setMuted(me(req), String(req.params.cid), muted);
      res.status(204).end();
    };
  const recall: Handler = async (req, res) => {
    res.json(await messages.recall(me(req), String(req.params.messageId)));
  };
  const hide: Handler = async (req, res) => {
    await messages.hide(me(req), String(req.params.messageId));
    res.status(204).end();
  };
  const worldMute =
    (muted: boolean): Handler =>
    async (req, res) => {
      await messages.setWorldMute(me(req), String(req.params.userId), muted);
      res.status(204).end();
    };

  return (router: Router): void => {
    router.post('/api/v1/messages', auth, validate(v.sendRules), send);
    router.get('/api/v1/conversations', auth, validate(...v.chatListRules), conversations);
    router.get('/api/v1/conversations/:cid/messages', auth, validate(v.historyRules), history);
    router.post('/api/v1/conversations/:cid/read', auth, validate(v.readRules), read);
    router.put('/api/v1/conversations/:cid/pin', auth, validate(v.conversationRules), pin(true));
    router.delete('/api/v1/conversations/:cid/pin', auth, validate(v.conversationRules), pin(false));
    router.put('/api/v1/conversations/:cid/mute', auth, validate(v.conversationRules), mute(true));
    router.delete('/api/v1/conversations/:cid/mute', auth, validate(v.conversationRules), mute(false));
    router.post('/api/v1/messages/:messageId/recall', auth, validate(v.messageRules), recall);
    router.delete('/api/v1/messages/:messageId', auth, validate(v.messageRules), hide);
    router.put('/api/v1/world/mutes/:userId', auth, validate(v.worldMuteRules), worldMute(true));
    router.delete('/api/v1/world/mutes/:userId', auth, validate(v.worldMuteRules), worldMute(false));
  };
}
