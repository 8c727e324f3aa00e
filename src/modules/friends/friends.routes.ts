import type { Request, Response, Router } from 'express';
import { limitPerUser, type Limiter } from '../../shared/rate-limit';
import { validate } from '../../shared/validation';
import { limitOf } from '../../shared/validators';
import { authOf, requireAuth, type TokenService } from '../accounts';
import type { FriendsService } from './friends.service';
import * as v from './friends.validation';

export interface FriendsRoutesDeps {
  friends: FriendsService;
  tokens: TokenService;
  limits: { friendRequests: Limiter };
}

type Handler = (req: Request, res: Response) => Promise<void>;

const me = (req: Request) => authOf(req).userId;
const isTrue = (value: unknown) => value === 'true' || value === '1';
const cursorOf = (req: Request) => (req.query.cursor as string) ?? null;

/** An empty string clears a text field, like null. */
function textOrNull(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** The friends and blocks routes (described in friends.openapi.yaml, checked by friends.validation.ts). */
export function friendsRoutes(deps: FriendsRoutesDeps) {
  const auth = requireAuth(deps.tokens);
  const { friends } = deps;
  const requestLimit = limitPerUser(deps.limits.friendRequests);

  const list: Handler = async (req, res) => {
    res.json(
      await friends.listFriends(me(req), isTrue(req.query.all), cursorOf(req), limitOf(req.query.limit)),
    );
  };
  const update: Handler = async (req, res) => {
    const changes: { remark?: string | null; hidden?: boolean } = {};
    if (req.body.remark !== undefined) changes.remark = textOrNull(req.body.remark);
    if (req.body.hidden !== undefined) changes.hidden = req.body.hidden;
    res.json(await friends.updateFriend(me(req), String(req.params.userId), changes));
  };
  const remove: Handler = async (req, res) => {
    await friends.deleteFriend(me(req), String(req.params.userId), isTrue(req.query.deleteHistory));
    res.status(204).end();
  };
  const sendRequest: Handler = async (req, res) => {
    const result = await friends.sendRequest(me(req), {
      toUserId: String(req.body.userId),
      message: textOrNull(req.body.message),
      remark: textOrNull(req.body.remark),
    });
    if (result.kind === 'friend') res.status(200).json({ friend: result.friend });
    else res.status(201).json(result.request);
  };
  const listRequests: Handler = async (req, res) => {
    const direction = req.query.direction === 'outgoing' ? 'outgoing' : 'incoming';
    res.json(await friends.listRequests(me(req), direction, cursorOf(req), limitOf(req.query.limit)));
  };
  const accept: Handler = async (req, res) => {
    const friend = await friends.accept(me(req), String(req.params.requestId), textOrNull(req.body.remark));
    res.json({ friend });
  };
  const reject: Handler = async (req, res) => {
    await friends.reject(me(req), String(req.params.requestId), textOrNull(req.body.reply));
    res.status(204).end();
  };
  const listBlocks: Handler = async (req, res) => {
    res.json(await friends.listBlocks(me(req), cursorOf(req), limitOf(req.query.limit)));
  };
  const block: Handler = async (req, res) => {
    await friends.block(me(req), String(req.params.userId));
    res.status(204).end();
  };
  const unblock: Handler = async (req, res) => {
    await friends.unblock(me(req), String(req.params.userId));
    res.status(204).end();
  };

  return (router: Router): void => {
    router.get('/api/v1/friends', auth, validate(...v.listFriendsRules), list);
    router.patch('/api/v1/friends/:userId', auth, validate(...v.updateFriendRules), update);
    router.delete('/api/v1/friends/:userId', auth, validate(...v.deleteFriendRules), remove);
    router.post('/api/v1/friend-requests', auth, validate(...v.sendRequestRules), requestLimit, sendRequest);
    router.get('/api/v1/friend-requests', auth, validate(...v.listRequestsRules), listRequests);
    router.post('/api/v1/friend-requests/:requestId/accept', auth, validate(...v.acceptRules), accept);
    router.post('/api/v1/friend-requests/:requestId/reject', auth, validate(...v.rejectRules), reject);
    router.get('/api/v1/blocks', auth, validate(...v.listBlocksRules), listBlocks);
    router.put('/api/v1/blocks/:userId', auth, validate(...v.blockRules), block);
    router.delete('/api/v1/blocks/:userId', auth, validate(...v.blockRules), unblock);
  };
}
