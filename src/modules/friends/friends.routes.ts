import type { Router } from 'express';
import { body, query } from 'express-validator';
import { limitPerUser, type Limiter } from '../../shared/rate-limit';
import { validate } from '../../shared/validation';
import { ID_RE, idParam, limitOf, optionalString, pageQuery } from '../../shared/validators';
import { authOf, requireAuth, type TokenService } from '../accounts';
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

/**
 * @openapi
 * components:
 *   schemas:
 *     Friend:
 *       type: object
 *       required: [user, remark, since]
 *       properties:
 *         user: { $ref: '#/components/schemas/User' }
 *         remark: { type: string, nullable: true, description: "the caller's private name for this friend" }
 *         since: { type: string, format: date-time }
 *     FriendPage:
 *       type: object
 *       properties:
 *         items: { type: array, items: { $ref: '#/components/schemas/Friend' } }
 *         nextCursor: { type: string, nullable: true }
 *     FriendRequest:
 *       type: object
 *       required: [id, from, to, message, status, createdAt]
 *       properties:
 *         id: { type: string }
 *         from: { $ref: '#/components/schemas/User' }
 *         to: { $ref: '#/components/schemas/User' }
 *         message: { type: string, nullable: true, description: "greeting; becomes the first private message on accept" }
 *         status: { type: string, enum: [pending, accepted, rejected, cancelled] }
 *         createdAt: { type: string, format: date-time }
 *     FriendRequestPage:
 *       type: object
 *       properties:
 *         items: { type: array, items: { $ref: '#/components/schemas/FriendRequest' } }
 *         nextCursor: { type: string, nullable: true }
 *   parameters:
 *     Cursor:
 *       name: cursor
 *       in: query
 *       schema: { type: string }
 *       description: nextCursor of the previous page
 *     Limit:
 *       name: limit
 *       in: query
 *       schema: { type: integer, minimum: 1, maximum: 100, default: 20 }
 */
export function friendsRoutes(deps: FriendsRoutesDeps) {
  const auth = requireAuth(deps.tokens);
  const { friends } = deps;
  return (router: Router): void => {
    /**
     * @openapi
     * /api/v1/friends:
     *   get:
     *     operationId: listFriends
     *     tags: [Friends]
     *     summary: The caller's friends, by user id; friends the caller hid are left out unless all=true
     *     parameters:
     *       - { name: all, in: query, schema: { type: boolean, default: false } }
     *       - $ref: '#/components/parameters/Cursor'
     *       - $ref: '#/components/parameters/Limit'
     *     responses:
     *       200: { description: a page of friends, content: { application/json: { schema: { $ref: '#/components/schemas/FriendPage' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     */
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

    /**
     * @openapi
     * /api/v1/friends/{userId}:
     *   patch:
     *     operationId: updateFriend
     *     tags: [Friends]
     *     summary: Set the caller's remark for a friend, or hide the friend from GET /friends
     *     parameters:
     *       - { name: userId, in: path, required: true, schema: { type: string } }
     *     requestBody:
     *       required: true
     *       content:
     *         application/json:
     *           schema:
     *             type: object
     *             additionalProperties: false
     *             properties:
     *               remark: { type: string, maxLength: 64, nullable: true, description: "null or empty clears it" }
     *               hidden: { type: boolean }
     *     responses:
     *       200: { description: the friend, content: { application/json: { schema: { $ref: '#/components/schemas/Friend' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       404: { description: FRIEND_NOT_FOUND (not your friend), content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *   delete:
     *     operationId: removeFriend
     *     tags: [Friends]
     *     summary: "End a friendship for both sides; the other side gets friend.removed {userId} (userId = you)"
     *     parameters:
     *       - { name: userId, in: path, required: true, schema: { type: string } }
     *       - { name: deleteHistory, in: query, schema: { type: boolean, default: false }, description: "also hide the private conversation for the caller only" }
     *     responses:
     *       204: { description: removed }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       404: { description: FRIEND_NOT_FOUND, content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     */
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

    /**
     * @openapi
     * /api/v1/friend-requests:
     *   post:
     *     operationId: sendFriendRequest
     *     tags: [Friends]
     *     summary: Ask a user to be friends; if they had already asked you, you become friends at once (200)
     *     description: >
     *       The target gets a friend.request event (the request, plus userId = the requester). When the target had
     *       already asked you, they get friend.accepted instead. When either side blocks the other the request is
     *       refused with BLOCKED, and the target is told nothing.
     *     requestBody:
     *       required: true
     *       content:
     *         application/json:
     *           schema:
     *             type: object
     *             required: [userId]
     *             additionalProperties: false
     *             properties:
     *               userId: { type: string }
     *               message: { type: string, maxLength: 500, nullable: true, description: greeting }
     *               remark: { type: string, maxLength: 64, nullable: true, description: "your name for them once friends" }
     *     responses:
     *       201: { description: the pending request, content: { application/json: { schema: { $ref: '#/components/schemas/FriendRequest' } } } }
     *       200:
     *         description: the other side had asked you already; you are friends now
     *         content: { application/json: { schema: { type: object, properties: { friend: { $ref: '#/components/schemas/Friend' } } } } }
     *       400: { description: "VALIDATION_FAILED or CANNOT_FRIEND_SELF", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { description: BLOCKED, content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       404: { description: USER_NOT_FOUND, content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       409: { description: "ALREADY_FRIENDS, or REQUEST_PENDING when your earlier request still waits", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       429: { $ref: '#/components/responses/RateLimited' }
     *   get:
     *     operationId: listFriendRequests
     *     tags: [Friends]
     *     summary: Pending requests to you (incoming, the default) or from you (outgoing), newest first
     *     parameters:
     *       - { name: direction, in: query, schema: { type: string, enum: [incoming, outgoing], default: incoming } }
     *       - $ref: '#/components/parameters/Cursor'
     *       - $ref: '#/components/parameters/Limit'
     *     responses:
     *       200: { description: a page of requests, content: { application/json: { schema: { $ref: '#/components/schemas/FriendRequestPage' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     */
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

    /**
     * @openapi
     * /api/v1/friend-requests/{requestId}/accept:
     *   post:
     *     operationId: acceptFriendRequest
     *     tags: [Friends]
     *     summary: "Accept a request addressed to you; the requester gets friend.accepted {requestId, userId, friend} (userId = you) and the greeting becomes the first private message"
     *     parameters:
     *       - { name: requestId, in: path, required: true, schema: { type: string } }
     *     requestBody:
     *       content:
     *         application/json:
     *           schema:
     *             type: object
     *             additionalProperties: false
     *             properties:
     *               remark: { type: string, maxLength: 64, nullable: true }
     *     responses:
     *       200:
     *         description: you are friends
     *         content: { application/json: { schema: { type: object, properties: { friend: { $ref: '#/components/schemas/Friend' } } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       404: { description: "REQUEST_NOT_FOUND (unknown, or not addressed to you)", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       409: { description: "REQUEST_NOT_PENDING (already accepted, rejected or cancelled)", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     */
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

    /**
     * @openapi
     * /api/v1/friend-requests/{requestId}/reject:
     *   post:
     *     operationId: rejectFriendRequest
     *     tags: [Friends]
     *     summary: "Reject a request addressed to you; the requester gets friend.rejected {requestId, userId, reply} (userId = you)"
     *     parameters:
     *       - { name: requestId, in: path, required: true, schema: { type: string } }
     *     requestBody:
     *       content:
     *         application/json:
     *           schema:
     *             type: object
     *             additionalProperties: false
     *             properties:
     *               reply: { type: string, maxLength: 500, nullable: true }
     *     responses:
     *       204: { description: rejected }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       404: { description: REQUEST_NOT_FOUND, content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       409: { description: REQUEST_NOT_PENDING, content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     */
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

    /**
     * @openapi
     * /api/v1/blocks:
     *   get:
     *     operationId: listBlocks
     *     tags: [Friends]
     *     summary: Users the caller blocks, by user id
     *     parameters:
     *       - $ref: '#/components/parameters/Cursor'
     *       - $ref: '#/components/parameters/Limit'
     *     responses:
     *       200: { description: a page of users, content: { application/json: { schema: { $ref: '#/components/schemas/UserPage' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     */
    router.get('/api/v1/blocks', auth, validate(...pageQuery()), async (req, res) => {
      const { userId } = authOf(req);
      res.json(
        await friends.listBlocks(userId, (req.query.cursor as string) ?? null, limitOf(req.query.limit)),
      );
    });

    /**
     * @openapi
     * /api/v1/blocks/{userId}:
     *   put:
     *     operationId: blockUser
     *     tags: [Friends]
     *     summary: Block a user (idempotent)
     *     description: >
     *       The blocked user can no longer send you friend requests (BLOCKED) or messages (BLOCKED); pending
     *       requests between you are cancelled; a friendship stays. The blocked user is not notified.
     *     parameters:
     *       - { name: userId, in: path, required: true, schema: { type: string } }
     *     responses:
     *       204: { description: blocked }
     *       400: { description: "VALIDATION_FAILED or CANNOT_BLOCK_SELF", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       404: { description: USER_NOT_FOUND, content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *   delete:
     *     operationId: unblockUser
     *     tags: [Friends]
     *     summary: Unblock a user (idempotent)
     *     parameters:
     *       - { name: userId, in: path, required: true, schema: { type: string } }
     *     responses:
     *       204: { description: unblocked }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     */
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
