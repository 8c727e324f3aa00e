import type { Router } from 'express';
import { body, query } from 'express-validator';
import { limitPerUser, type Limiter } from '../../shared/rate-limit';
import { validate } from '../../shared/validation';
import {
  ID_RE,
  idParam,
  limitOf,
  optionalString,
  optionalUrl,
  pageQuery,
  requiredString,
} from '../../shared/validators';
import { authOf, requireAuth, type TokenService } from '../accounts';
import type { GroupChanges, JoinPolicy } from './groups.store';
import type { GroupsService } from './groups.service';

export interface GroupsRoutesDeps {
  groups: GroupsService;
  tokens: TokenService;
  limits: { groupCreations: Limiter; joinRequests: Limiter };
}

const POLICIES = ['open', 'approval', 'invite'];
/** Past the last moment MySQL's DATETIME can hold. */
const LATEST_TIME_MS = Date.UTC(10000, 0, 1);

function isId(v: unknown): boolean {
  return (typeof v === 'string' || typeof v === 'number') && ID_RE.test(String(v));
}

/** An array of 1..max user ids. */
function idArray(field: string, min: number, max: number) {
  return body(field)
    .isArray({ min, max })
    .withMessage(`must be an array of ${min}-${max} user ids`)
    .bail()
    .custom((arr: unknown[]) => arr.every(isId))
    .withMessage('must contain only user ids');
}

function maxMembersField() {
  return body('maxMembers')
    .optional()
    .custom((v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 2)
    .withMessage('must be an integer of at least 2');
}

function joinPolicyField() {
  return body('joinPolicy').optional().isIn(POLICIES).withMessage('must be open, approval or invite');
}

function nameField(optional: boolean) {
  const chain = optional ? optionalString('name', 1, 64) : requiredString('name', 1, 64);
  return chain
    .bail()
    .custom((v: string) => v.trim().length > 0)
    .withMessage('must not be blank');
}

function textOrNull(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

function cursorOf(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/**
 * @openapi
 * components:
 *   schemas:
 *     Group:
 *       type: object
 *       required: [id, name, avatar, announcement, ownerId, maxMembers, memberCount, joinPolicy, mutedAll, createdAt]
 *       properties:
 *         id: { type: string }
 *         name: { type: string }
 *         avatar: { type: string, nullable: true }
 *         announcement: { type: string, nullable: true }
 *         ownerId: { type: string }
 *         maxMembers: { type: integer }
 *         memberCount: { type: integer }
 *         joinPolicy: { type: string, enum: [open, approval, invite] }
 *         mutedAll: { type: boolean, description: "plain members cannot speak; owner and admins can" }
 *         createdAt: { type: string, format: date-time }
 *     GroupPage:
 *       type: object
 *       properties:
 *         items: { type: array, items: { $ref: '#/components/schemas/Group' } }
 *         nextCursor: { type: string, nullable: true }
 *     GroupMember:
 *       type: object
 *       required: [user, role, nickname, mutedUntil, joinedAt]
 *       properties:
 *         user: { $ref: '#/components/schemas/User' }
 *         role: { type: string, enum: [owner, admin, member] }
 *         nickname: { type: string, nullable: true }
 *         mutedUntil: { type: string, format: date-time, nullable: true }
 *         joinedAt: { type: string, format: date-time }
 *     GroupMemberPage:
 *       type: object
 *       properties:
 *         items: { type: array, items: { $ref: '#/components/schemas/GroupMember' } }
 *         nextCursor: { type: string, nullable: true }
 *     GroupJoinRequest:
 *       type: object
 *       required: [id, user, message, createdAt]
 *       properties:
 *         id: { type: string }
 *         user: { $ref: '#/components/schemas/User' }
 *         message: { type: string, nullable: true }
 *         createdAt: { type: string, format: date-time }
 *     GroupJoinRequestPage:
 *       type: object
 *       properties:
 *         items: { type: array, items: { $ref: '#/components/schemas/GroupJoinRequest' } }
 *         nextCursor: { type: string, nullable: true }
 *   responses:
 *     GroupNotFound:
 *       description: GROUP_NOT_FOUND (unknown or dissolved)
 *       content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
 *     GroupForbidden:
 *       description: "NOT_A_MEMBER (caller is not a member, banned users included) or FORBIDDEN (role too low)"
 *       content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
 *   parameters:
 *     GroupId:
 *       name: groupId
 *       in: path
 *       required: true
 *       schema: { type: string }
 */
export function groupsRoutes(deps: GroupsRoutesDeps) {
  const auth = requireAuth(deps.tokens);
  const { groups } = deps;
  const gid = idParam('groupId');
  return (router: Router): void => {
    /**
     * @openapi
     * /api/v1/groups:
     *   post:
     *     operationId: createGroup
     *     tags: [Groups]
     *     summary: Create a group; the caller is its owner
     *     description: >
     *       Initial members must all be the caller's friends (NOT_FRIENDS), and none of them may block the caller
     *       or be blocked by the caller (BLOCKED, either way, without saying which side blocks). joinPolicy
     *       defaults to approval; maxMembers to groups.defaultMaxMembers and may be 2..groups.maxMembersLimit.
     *       Members get group.created.
     *     requestBody:
     *       required: true
     *       content:
     *         application/json:
     *           schema:
     *             type: object
     *             required: [name]
     *             additionalProperties: false
     *             properties:
     *               name: { type: string, minLength: 1, maxLength: 64 }
     *               avatar: { type: string, format: iri, nullable: true }
     *               memberIds: { type: array, maxItems: 500, items: { type: string } }
     *               maxMembers: { type: integer, minimum: 2 }
     *               joinPolicy: { type: string, enum: [open, approval, invite], default: approval }
     *     responses:
     *       201: { description: the group, content: { application/json: { schema: { $ref: '#/components/schemas/Group' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { description: "NOT_FRIENDS: details lists [{userId}] of the initial members who are not your friends. BLOCKED: details lists [{userId}] of the initial members with a block between you and them (either way)", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       409: { description: "GROUP_FULL: more initial members than maxMembers allows", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       429: { $ref: '#/components/responses/RateLimited' }
     *   get:
     *     operationId: listGroups
     *     tags: [Groups]
     *     summary: Groups the caller is in, by group id
     *     parameters:
     *       - $ref: '#/components/parameters/Cursor'
     *       - $ref: '#/components/parameters/Limit'
     *     responses:
     *       200: { description: a page of groups, content: { application/json: { schema: { $ref: '#/components/schemas/GroupPage' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     */
    router.post(
      '/api/v1/groups',
      auth,
      validate(
        nameField(false),
        optionalUrl('avatar'),
        body('memberIds')
          .optional()
          .isArray({ max: 500 })
          .withMessage('must be an array of at most 500 user ids')
          .bail()
          .custom((arr: unknown[]) => arr.every(isId))
          .withMessage('must contain only user ids'),
        maxMembersField(),
        joinPolicyField(),
      ),
      limitPerUser(deps.limits.groupCreations),
      async (req, res) => {
        const { userId } = authOf(req);
        const group = await groups.create(userId, {
          name: String(req.body.name).trim(),
          avatar: req.body.avatar ?? null,
          memberIds: ((req.body.memberIds as unknown[] | undefined) ?? []).map(String),
          maxMembers: req.body.maxMembers,
          joinPolicy: req.body.joinPolicy as JoinPolicy | undefined,
        });
        res.status(201).json(group);
      },
    );

    router.get('/api/v1/groups', auth, validate(...pageQuery()), async (req, res) => {
      const { userId } = authOf(req);
      res.json(await groups.listMine(userId, cursorOf(req.query.cursor), limitOf(req.query.limit)));
    });

    /**
     * @openapi
     * /api/v1/groups/{groupId}:
     *   get:
     *     operationId: getGroup
     *     tags: [Groups]
     *     summary: A group's info; members always, anyone for open and approval groups
     *     parameters: [{ $ref: '#/components/parameters/GroupId' }]
     *     responses:
     *       200: { description: the group, content: { application/json: { schema: { $ref: '#/components/schemas/Group' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { description: "NOT_A_MEMBER (invite-only group)", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       404: { $ref: '#/components/responses/GroupNotFound' }
     *   patch:
     *     operationId: updateGroup
     *     tags: [Groups]
     *     summary: Change name, avatar, announcement, join policy or maxMembers (owner or admin); members get group.updated
     *     parameters: [{ $ref: '#/components/parameters/GroupId' }]
     *     requestBody:
     *       required: true
     *       content:
     *         application/json:
     *           schema:
     *             type: object
     *             additionalProperties: false
     *             properties:
     *               name: { type: string, minLength: 1, maxLength: 64 }
     *               avatar: { type: string, format: iri, nullable: true }
     *               announcement: { type: string, maxLength: 2000, nullable: true }
     *               joinPolicy: { type: string, enum: [open, approval, invite] }
     *               maxMembers: { type: integer, minimum: 2, description: "at most groups.maxMembersLimit, at least memberCount" }
     *     responses:
     *       200: { description: the group, content: { application/json: { schema: { $ref: '#/components/schemas/Group' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/GroupForbidden' }
     *       404: { $ref: '#/components/responses/GroupNotFound' }
     *       409: { description: "MAX_MEMBERS_TOO_LOW: below the current member count", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *   delete:
     *     operationId: dissolveGroup
     *     tags: [Groups]
     *     summary: Dissolve the group (owner only); every member gets group.dissolved and the group is gone
     *     parameters: [{ $ref: '#/components/parameters/GroupId' }]
     *     responses:
     *       204: { description: dissolved }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/GroupForbidden' }
     *       404: { $ref: '#/components/responses/GroupNotFound' }
     */
    router.get('/api/v1/groups/:groupId', auth, validate(gid), async (req, res) => {
      const { userId } = authOf(req);
      res.json(await groups.get(userId, String(req.params.groupId)));
    });

    router.patch(
      '/api/v1/groups/:groupId',
      auth,
      validate(
        gid,
        nameField(true),
        optionalUrl('avatar'),
        optionalString('announcement', 0, 2000, true),
        joinPolicyField(),
        maxMembersField(),
      ),
      async (req, res) => {
        const { userId } = authOf(req);
        const changes: GroupChanges = {};
        if (req.body.name !== undefined) changes.name = String(req.body.name).trim();
        if (req.body.avatar !== undefined) changes.avatar = req.body.avatar;
        if (req.body.announcement !== undefined) changes.announcement = textOrNull(req.body.announcement);
        if (req.body.joinPolicy !== undefined) changes.joinPolicy = req.body.joinPolicy;
        if (req.body.maxMembers !== undefined) changes.maxMembers = req.body.maxMembers;
        res.json(await groups.update(userId, String(req.params.groupId), changes));
      },
    );

    router.delete('/api/v1/groups/:groupId', auth, validate(gid), async (req, res) => {
      const { userId } = authOf(req);
      await groups.dissolve(userId, String(req.params.groupId));
      res.status(204).end();
    });

    /**
     * @openapi
     * /api/v1/groups/{groupId}/join:
     *   post:
     *     operationId: joinGroup
     *     tags: [Groups]
     *     summary: Join by the group's policy
     *     description: >
     *       open: you become a member (200) and members get group.member_joined. approval: a join request is filed
     *       (202; asking again returns the pending one) and the owner and admins get group.join_requested.
     *       invite: refused with INVITE_ONLY.
     *     parameters: [{ $ref: '#/components/parameters/GroupId' }]
     *     requestBody:
     *       content:
     *         application/json:
     *           schema:
     *             type: object
     *             additionalProperties: false
     *             properties:
     *               message: { type: string, maxLength: 500, nullable: true, description: "shown to the owner and admins (approval groups)" }
     *     responses:
     *       200: { description: you are a member, content: { application/json: { schema: { $ref: '#/components/schemas/GroupMember' } } } }
     *       202: { description: join request filed, content: { application/json: { schema: { $ref: '#/components/schemas/GroupJoinRequest' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { description: "BANNED or INVITE_ONLY", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       404: { $ref: '#/components/responses/GroupNotFound' }
     *       409: { description: "GROUP_FULL or ALREADY_MEMBER", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       429: { $ref: '#/components/responses/RateLimited' }
     */
    router.post(
      '/api/v1/groups/:groupId/join',
      auth,
      validate(gid, optionalString('message', 0, 500, true)),
      limitPerUser(deps.limits.joinRequests),
      async (req, res) => {
        const { userId } = authOf(req);
        const result = await groups.join(userId, String(req.params.groupId), textOrNull(req.body.message));
        if (result.kind === 'member') res.status(200).json(result.member);
        else res.status(202).json(result.request);
      },
    );

    /**
     * @openapi
     * /api/v1/groups/{groupId}/leave:
     *   post:
     *     operationId: leaveGroup
     *     tags: [Groups]
     *     summary: Leave the group; members get group.member_left
     *     parameters: [{ $ref: '#/components/parameters/GroupId' }]
     *     responses:
     *       204: { description: left }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/GroupForbidden' }
     *       404: { $ref: '#/components/responses/GroupNotFound' }
     *       409: { description: "OWNER_CANNOT_LEAVE: transfer ownership first", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     */
    router.post('/api/v1/groups/:groupId/leave', auth, validate(gid), async (req, res) => {
      const { userId } = authOf(req);
      await groups.leave(userId, String(req.params.groupId));
      res.status(204).end();
    });

    /**
     * @openapi
     * /api/v1/groups/{groupId}/members:
     *   get:
     *     operationId: listGroupMembers
     *     tags: [Groups]
     *     summary: Members by user id (members only)
     *     parameters:
     *       - $ref: '#/components/parameters/GroupId'
     *       - $ref: '#/components/parameters/Cursor'
     *       - $ref: '#/components/parameters/Limit'
     *     responses:
     *       200: { description: a page of members, content: { application/json: { schema: { $ref: '#/components/schemas/GroupMemberPage' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/GroupForbidden' }
     *       404: { $ref: '#/components/responses/GroupNotFound' }
     *   post:
     *     operationId: addGroupMembers
     *     tags: [Groups]
     *     summary: Invite (add) the caller's friends
     *     description: >
     *       Owner and admins may invite to any group; plain members only to open groups. Users who are not the
     *       caller's friends, who block the caller or are blocked by the caller, who are banned or are already
     *       members are skipped with reason not_friend, blocked (either way; which side blocks is not said),
     *       banned or already_member. The rest are added together or, when they do not fit, not at all
     *       (GROUP_FULL). Members get group.member_joined for each one added.
     *     parameters: [{ $ref: '#/components/parameters/GroupId' }]
     *     requestBody:
     *       required: true
     *       content:
     *         application/json:
     *           schema:
     *             type: object
     *             required: [userIds]
     *             additionalProperties: false
     *             properties:
     *               userIds: { type: array, minItems: 1, maxItems: 100, items: { type: string } }
     *     responses:
     *       200:
     *         description: who was added and who was skipped
     *         content:
     *           application/json:
     *             schema:
     *               type: object
     *               properties:
     *                 added: { type: array, items: { $ref: '#/components/schemas/GroupMember' } }
     *                 skipped:
     *                   type: array
     *                   items:
     *                     type: object
     *                     properties:
     *                       userId: { type: string }
     *                       reason: { type: string, enum: [not_friend, blocked, banned, already_member] }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/GroupForbidden' }
     *       404: { $ref: '#/components/responses/GroupNotFound' }
     *       409: { description: GROUP_FULL, content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     */
    router.get('/api/v1/groups/:groupId/members', auth, validate(gid, ...pageQuery()), async (req, res) => {
      const { userId } = authOf(req);
      res.json(
        await groups.listMembers(
          userId,
          String(req.params.groupId),
          cursorOf(req.query.cursor),
          limitOf(req.query.limit),
        ),
      );
    });

    router.post(
      '/api/v1/groups/:groupId/members',
      auth,
      validate(gid, idArray('userIds', 1, 100)),
      async (req, res) => {
        const { userId } = authOf(req);
        res.json(
          await groups.invite(
            userId,
            String(req.params.groupId),
            (req.body.userIds as unknown[]).map(String),
          ),
        );
      },
    );

    /**
     * @openapi
     * /api/v1/groups/{groupId}/members/{userId}:
     *   patch:
     *     operationId: updateGroupMember
     *     tags: [Groups]
     *     summary: Change a member's role, nickname or mute; members get group.member_updated
     *     description: >
     *       role (admin or member): owner only, never on the owner (use transfer). nickname: members set only their
     *       own (null clears). mutedUntil (ISO time, or null to unmute): owner or admin, on members below them;
     *       a muted member cannot speak until then.
     *     parameters:
     *       - $ref: '#/components/parameters/GroupId'
     *       - { name: userId, in: path, required: true, schema: { type: string } }
     *     requestBody:
     *       required: true
     *       content:
     *         application/json:
     *           schema:
     *             type: object
     *             additionalProperties: false
     *             properties:
     *               role: { type: string, enum: [admin, member] }
     *               nickname: { type: string, maxLength: 64, nullable: true }
     *               mutedUntil: { type: string, format: date-time, nullable: true }
     *     responses:
     *       200: { description: the member, content: { application/json: { schema: { $ref: '#/components/schemas/GroupMember' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/GroupForbidden' }
     *       404: { description: "GROUP_NOT_FOUND or MEMBER_NOT_FOUND", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *   delete:
     *     operationId: removeGroupMember
     *     tags: [Groups]
     *     summary: Remove a member, with ban=true also banning them
     *     description: >
     *       The owner removes anyone but themself; admins remove plain members only. A ban works on non-members too
     *       and keeps the user out by every route (join, invite, approval). Members and the removed user get
     *       group.member_removed.
     *     parameters:
     *       - $ref: '#/components/parameters/GroupId'
     *       - { name: userId, in: path, required: true, schema: { type: string } }
     *       - { name: ban, in: query, schema: { type: boolean, default: false } }
     *     responses:
     *       204: { description: removed }
     *       400: { description: "VALIDATION_FAILED or CANNOT_REMOVE_SELF (use leave)", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/GroupForbidden' }
     *       404: { description: "GROUP_NOT_FOUND, MEMBER_NOT_FOUND or USER_NOT_FOUND", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     */
    router.patch(
      '/api/v1/groups/:groupId/members/:userId',
      auth,
      validate(
        gid,
        idParam('userId'),
        body('role').optional().isIn(['admin', 'member']).withMessage('must be admin or member'),
        optionalString('nickname', 0, 64, true),
        body('mutedUntil')
          .optional({ values: 'null' })
          .isString()
          .withMessage('must be an ISO-8601 time or null')
          .bail()
          .isISO8601({ strict: true })
          .withMessage('must be an ISO-8601 time or null')
          .bail()
          .custom((v: string) => {
            const ms = new Date(v).getTime();
            return Number.isFinite(ms) && ms >= 0 && ms < LATEST_TIME_MS;
          })
          .withMessage('must be between 1970 and 9999'),
      ),
      async (req, res) => {
        const { userId } = authOf(req);
        const changes: { role?: 'admin' | 'member'; nickname?: string | null; mutedUntil?: Date | null } = {};
        if (req.body.role !== undefined) changes.role = req.body.role;
        if (req.body.nickname !== undefined) changes.nickname = textOrNull(req.body.nickname);
        if (req.body.mutedUntil !== undefined) {
          changes.mutedUntil = req.body.mutedUntil === null ? null : new Date(req.body.mutedUntil);
        }
        res.json(
          await groups.updateMember(userId, String(req.params.groupId), String(req.params.userId), changes),
        );
      },
    );

    router.delete(
      '/api/v1/groups/:groupId/members/:userId',
      auth,
      validate(
        gid,
        idParam('userId'),
        query('ban').optional().isIn(['true', 'false', '1', '0']).withMessage('must be true or false'),
      ),
      async (req, res) => {
        const { userId } = authOf(req);
        const ban = req.query.ban === 'true' || req.query.ban === '1';
        await groups.removeMember(userId, String(req.params.groupId), String(req.params.userId), ban);
        res.status(204).end();
      },
    );

    /**
     * @openapi
     * /api/v1/groups/{groupId}/transfer:
     *   post:
     *     operationId: transferGroupOwnership
     *     tags: [Groups]
     *     summary: Hand ownership to a member (owner only); the old owner becomes an admin
     *     parameters: [{ $ref: '#/components/parameters/GroupId' }]
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
     *     responses:
     *       200: { description: the group, content: { application/json: { schema: { $ref: '#/components/schemas/Group' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/GroupForbidden' }
     *       404: { description: "GROUP_NOT_FOUND or MEMBER_NOT_FOUND (the target is not a member)", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     */
    router.post(
      '/api/v1/groups/:groupId/transfer',
      auth,
      validate(
        gid,
        body('userId')
          .exists({ values: 'null' })
          .withMessage('is required')
          .bail()
          .custom(isId)
          .withMessage('must be a user id'),
      ),
      async (req, res) => {
        const { userId } = authOf(req);
        res.json(await groups.transfer(userId, String(req.params.groupId), String(req.body.userId)));
      },
    );

    /**
     * @openapi
     * /api/v1/groups/{groupId}/mute:
     *   put:
     *     operationId: setGroupMuteAll
     *     tags: [Groups]
     *     summary: Turn mute-all on or off (owner or admin); plain members are silenced, owner and admins still speak
     *     parameters: [{ $ref: '#/components/parameters/GroupId' }]
     *     requestBody:
     *       required: true
     *       content:
     *         application/json:
     *           schema:
     *             type: object
     *             required: [mutedAll]
     *             additionalProperties: false
     *             properties:
     *               mutedAll: { type: boolean }
     *     responses:
     *       200: { description: the group, content: { application/json: { schema: { $ref: '#/components/schemas/Group' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/GroupForbidden' }
     *       404: { $ref: '#/components/responses/GroupNotFound' }
     */
    router.put(
      '/api/v1/groups/:groupId/mute',
      auth,
      validate(
        gid,
        body('mutedAll')
          .exists()
          .withMessage('is required')
          .bail()
          .isBoolean({ strict: true })
          .withMessage('must be a boolean'),
      ),
      async (req, res) => {
        const { userId } = authOf(req);
        res.json(await groups.setMutedAll(userId, String(req.params.groupId), req.body.mutedAll === true));
      },
    );

    /**
     * @openapi
     * /api/v1/groups/{groupId}/join-requests:
     *   get:
     *     operationId: listGroupJoinRequests
     *     tags: [Groups]
     *     summary: Pending join requests, oldest first (owner or admin)
     *     parameters:
     *       - $ref: '#/components/parameters/GroupId'
     *       - $ref: '#/components/parameters/Cursor'
     *       - $ref: '#/components/parameters/Limit'
     *     responses:
     *       200: { description: a page of join requests, content: { application/json: { schema: { $ref: '#/components/schemas/GroupJoinRequestPage' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/GroupForbidden' }
     *       404: { $ref: '#/components/responses/GroupNotFound' }
     */
    router.get(
      '/api/v1/groups/:groupId/join-requests',
      auth,
      validate(gid, ...pageQuery()),
      async (req, res) => {
        const { userId } = authOf(req);
        res.json(
          await groups.listJoinRequests(
            userId,
            String(req.params.groupId),
            cursorOf(req.query.cursor),
            limitOf(req.query.limit),
          ),
        );
      },
    );

    /**
     * @openapi
     * /api/v1/groups/{groupId}/join-requests/{requestId}/approve:
     *   post:
     *     operationId: approveGroupJoinRequest
     *     tags: [Groups]
     *     summary: Approve a join request (owner or admin); members get group.member_joined
     *     parameters:
     *       - $ref: '#/components/parameters/GroupId'
     *       - { name: requestId, in: path, required: true, schema: { type: string } }
     *     responses:
     *       200: { description: the new member, content: { application/json: { schema: { $ref: '#/components/schemas/GroupMember' } } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { description: "NOT_A_MEMBER, FORBIDDEN, or BANNED (the requester was banned; the request is rejected)", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       404: { description: "GROUP_NOT_FOUND or JOIN_REQUEST_NOT_FOUND (unknown or no longer pending)", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     *       409: { description: "GROUP_FULL or ALREADY_MEMBER", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     */
    router.post(
      '/api/v1/groups/:groupId/join-requests/:requestId/approve',
      auth,
      validate(gid, idParam('requestId')),
      async (req, res) => {
        const { userId } = authOf(req);
        res.json(
          await groups.approveJoinRequest(userId, String(req.params.groupId), String(req.params.requestId)),
        );
      },
    );

    /**
     * @openapi
     * /api/v1/groups/{groupId}/join-requests/{requestId}/reject:
     *   post:
     *     operationId: rejectGroupJoinRequest
     *     tags: [Groups]
     *     summary: Reject a join request (owner or admin); the requester gets group.join_rejected
     *     parameters:
     *       - $ref: '#/components/parameters/GroupId'
     *       - { name: requestId, in: path, required: true, schema: { type: string } }
     *     responses:
     *       204: { description: rejected }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/GroupForbidden' }
     *       404: { description: "GROUP_NOT_FOUND or JOIN_REQUEST_NOT_FOUND", content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } } }
     */
    router.post(
      '/api/v1/groups/:groupId/join-requests/:requestId/reject',
      auth,
      validate(gid, idParam('requestId')),
      async (req, res) => {
        const { userId } = authOf(req);
        await groups.rejectJoinRequest(userId, String(req.params.groupId), String(req.params.requestId));
        res.status(204).end();
      },
    );
  };
}
