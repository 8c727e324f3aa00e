import type { Router } from 'express';
import { body, query } from 'express-validator';
import { limitPerUser, type Limiter } from '../../shared/rate-limit';
import { validate } from '../../shared/validation';
import { ID_RE, idParam, limitOf, optionalString, pageQuery } from '../../shared/validators';
import { authOf, requireAuth } from '../accounts/auth.middleware';
import type { TokenService } from '../accounts/tokens';
import type { FriendsService } from './friends.service';

export interface FriendsRoutesDeps {
  friends: FriendsService;
  tokens: TokenService;
  limits: { friendRequests: Limiter };
}

const BOOL_VALUES = ['true', 'false', '1', '0'];

/** A `?flag=true|false|1|0` query parameter. */
function boolQuery(name: string) {
  return query(name).optional().isIn(BOOL_VALUES).withMessage('must be true or false');
}

function isTrue(value: unknown): boolean {
  return value === 'true' || value === '1';
}

/** An empty string clears a text field, like null. */
function textOrNull(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

export function friendsRoutes(deps: FriendsRoutesDeps) {
  const auth = requireAuth(deps.tokens);
  const { friends } = deps;
  return (router: Router): void => {
    router.get('/api/v1/friends', auth, validate(boolQuery('all'), ...pageQuery()), async (req, res) => {
      const { userId } = authOf(req);
      res.json(
        await friends.listFriends(
          userId,
          isTrue(req.query.all),
          (req.query.cursor as string) ?? null,
          limitOf(req.query.limit),
        ),
      );
    });

    router.patch(
      '/api/v1/friends/:userId',
      auth,
      validate(
        idParam('userId'),
        optionalString('remark', 0, 64, true),
        body('hidden').optional().isBoolean({ strict: true }).withMessage('must be a boolean'),
      ),
      async (req, res) => {
        const { userId } = authOf(req);
        const changes: { remark?: string | null; hidden?: boolean } = {};
        if (req.body.remark !== undefined) changes.remark = textOrNull(req.body.remark);
        if (req.body.hidden !== undefined) changes.hidden = req.body.hidden;
        res.json(await friends.updateFriend(userId, String(req.params.userId), changes));
      },
    );

    router.delete(
      '/api/v1/friends/:userId',
      auth,
      validate(idParam('userId'), boolQuery('deleteHistory')),
      async (req, res) => {
        const { userId } = authOf(req);
        await friends.deleteFriend(userId, String(req.params.userId), isTrue(req.query.deleteHistory));
        res.status(204).end();
      },
    );

    router.post(
      '/api/v1/friend-requests',
      auth,
      validate(
        body('userId')
          .exists({ values: 'null' })
          .withMessage('is required')
          .bail()
          .custom((v: unknown) => (typeof v === 'string' || typeof v === 'number') && ID_RE.test(String(v)))
          .withMessage('must be a user id'),
        optionalString('message', 0, 500, true),
        optionalString('remark', 0, 64, true),
      ),
      limitPerUser(deps.limits.friendRequests),
      async (req, res) => {
        const { userId } = authOf(req);
        const result = await friends.sendRequest(userId, {
          toUserId: String(req.body.userId),
          message: textOrNull(req.body.message),
          remark: textOrNull(req.body.remark),
        });
        if (result.kind === 'friend') res.status(200).json({ friend: result.friend });
        else res.status(201).json(result.request);
      },
    );

    router.get(
      '/api/v1/friend-requests',
      auth,
      validate(
        query('direction')
          .optional()
          .isIn(['incoming', 'outgoing'])
          .withMessage('must be incoming or outgoing'),
        ...pageQuery(),
      ),
      async (req, res) => {
        const { userId } = authOf(req);
        const direction = req.query.direction === 'outgoing' ? 'outgoing' : 'incoming';
        res.json(
          await friends.listRequests(
            userId,
            direction,
            (req.query.cursor as string) ?? null,
            limitOf(req.query.limit),
          ),
        );
      },
    );

    router.post(
      '/api/v1/friend-requests/:requestId/accept',
      auth,
      validate(idParam('requestId'), optionalString('remark', 0, 64, true)),
      async (req, res) => {
        const { userId } = authOf(req);
        const friend = await friends.accept(
          userId,
          String(req.params.requestId),
          textOrNull(req.body.remark),
        );
        res.json({ friend });
      },
    );

    router.post(
      '/api/v1/friend-requests/:requestId/reject',
      auth,
      validate(idParam('requestId'), optionalString('reply', 0, 500, true)),
      async (req, res) => {
        const { userId } = authOf(req);
        await friends.reject(userId, String(req.params.requestId), textOrNull(req.body.reply));
        res.status(204).end();
      },
    );

    router.get('/api/v1/blocks', auth, validate(...pageQuery()), async (req, res) => {
      const { userId } = authOf(req);
      res.json(
        await friends.listBlocks(userId, (req.query.cursor as string) ?? null, limitOf(req.query.limit)),
      );
    });

    router.put('/api/v1/blocks/:userId', auth, validate(idParam('userId')), async (req, res) => {
      const { userId } = authOf(req);
      await friends.block(userId, String(req.params.userId));
      res.status(204).end();
    });

    router.delete('/api/v1/blocks/:userId', auth, validate(idParam('userId')), async (req, res) => {
      const { userId } = authOf(req);
      await friends.unblock(userId, String(req.params.userId));
      res.status(204).end();
    });
  };
}
