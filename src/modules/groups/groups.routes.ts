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
import { authOf, requireAuth } from '../accounts/auth.middleware';
import type { TokenService } from '../accounts/tokens';
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

export function groupsRoutes(deps: GroupsRoutesDeps) {
  const auth = requireAuth(deps.tokens);
  const { groups } = deps;
  const gid = idParam('groupId');
  return (router: Router): void => {
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

    router.post('/api/v1/groups/:groupId/leave', auth, validate(gid), async (req, res) => {
      const { userId } = authOf(req);
      await groups.leave(userId, String(req.params.groupId));
      res.status(204).end();
    });

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
