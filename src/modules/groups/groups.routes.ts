import type { Request, Response, Router } from 'express';
import { limitPerUser, type Limiter } from '../../shared/rate-limit';
import { validate } from '../../shared/validation';
import { limitOf } from '../../shared/validators';
import { authOf, requireAuth, type TokenService } from '../accounts';
import type { GroupChanges, JoinPolicy } from './groups.store';
import type { GroupsService } from './groups.service';
import * as v from './groups.validation';

export interface GroupsRoutesDeps {
  groups: GroupsService;
  tokens: TokenService;
  limits: { groupCreations: Limiter; joinRequests: Limiter };
}

type Handler = (req: Request, res: Response) => Promise<void>;
type MemberChanges = { role?: 'admin' | 'member'; nickname?: string | null; mutedUntil?: Date | null };

const me = (req: Request) => authOf(req).userId;
const gid = (req: Request) => String(req.params.groupId);
const cursorOf = (req: Request) => (typeof req.query.cursor === 'string' ? req.query.cursor : null);

function textOrNull(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}

/** The groups routes (described in groups.openapi.yaml, checked by groups.validation.ts). */
export function groupsRoutes(deps: GroupsRoutesDeps) {
  const auth = requireAuth(deps.tokens);
  const { groups } = deps;
  const creationLimit = limitPerUser(deps.limits.groupCreations);
  const joinLimit = limitPerUser(deps.limits.joinRequests);

  const create: Handler = async (req, res) => {
    const group = await groups.create(me(req), {
      name: String(req.body.name).trim(),
      avatar: req.body.avatar ?? null,
      memberIds: ((req.body.memberIds as unknown[] | undefined) ?? []).map(String),
      maxMembers: req.body.maxMembers,
      joinPolicy: req.body.joinPolicy as JoinPolicy | undefined,
    });
    res.status(201).json(group);
  };
  const listMine: Handler = async (req, res) => {
    res.json(await groups.listMine(me(req), cursorOf(req), limitOf(req.query.limit)));
  };
  const get: Handler = async (req, res) => {
    res.json(await groups.get(me(req), gid(req)));
  };
  const update: Handler = async (req, res) => {
    const changes: GroupChanges = {};
    if (req.body.name !== undefined) changes.name = String(req.body.name).trim();
    if (req.body.avatar !== undefined) changes.avatar = req.body.avatar;
    if (req.body.announcement !== undefined) changes.announcement = textOrNull(req.body.announcement);
    if (req.body.joinPolicy !== undefined) changes.joinPolicy = req.body.joinPolicy;
    if (req.body.maxMembers !== undefined) changes.maxMembers = req.body.maxMembers;
    res.json(await groups.update(me(req), gid(req), changes));
  };
  const dissolve: Handler = async (req, res) => {
    await groups.dissolve(me(req), gid(req));
    res.status(204).end();
  };
  const join: Handler = async (req, res) => {
    const result = await groups.join(me(req), gid(req), textOrNull(req.body.message));
    if (result.kind === 'member') res.status(200).json(result.member);
    else res.status(202).json(result.request);
  };
  const leave: Handler = async (req, res) => {
    await groups.leave(me(req), gid(req));
    res.status(204).end();
  };
  const members: Handler = async (req, res) => {
    res.json(await groups.listMembers(me(req), gid(req), cursorOf(req), limitOf(req.query.limit)));
  };
  const invite: Handler = async (req, res) => {
    res.json(await groups.invite(me(req), gid(req), (req.body.userIds as unknown[]).map(String)));
  };
  const updateMember: Handler = async (req, res) => {
    const changes: MemberChanges = {};
    if (req.body.role !== undefined) changes.role = req.body.role;
    if (req.body.nickname !== undefined) changes.nickname = textOrNull(req.body.nickname);
    if (req.body.mutedUntil !== undefined) {
      changes.mutedUntil = req.body.mutedUntil === null ? null : new Date(req.body.mutedUntil);
    }
    res.json(await groups.updateMember(me(req), gid(req), String(req.params.userId), changes));
  };
  const removeMember: Handler = async (req, res) => {
    const ban = req.query.ban === 'true' || req.query.ban === '1';
    await groups.removeMember(me(req), gid(req), String(req.params.userId), ban);
    res.status(204).end();
  };
  const transfer: Handler = async (req, res) => {
    res.json(await groups.transfer(me(req), gid(req), String(req.body.userId)));
  };
  const muteAll: Handler = async (req, res) => {
    res.json(await groups.setMutedAll(me(req), gid(req), req.body.mutedAll === true));
  };
  const joinRequests: Handler = async (req, res) => {
    res.json(await groups.listJoinRequests(me(req), gid(req), cursorOf(req), limitOf(req.query.limit)));
  };
  const approve: Handler = async (req, res) => {
    res.json(await groups.approveJoinRequest(me(req), gid(req), String(req.params.requestId)));
  };
  const reject: Handler = async (req, res) => {
    await groups.rejectJoinRequest(me(req), gid(req), String(req.params.requestId));
    res.status(204).end();
  };

  return (router: Router): void => {
    router.post('/api/v1/groups', auth, validate(...v.createRules), creationLimit, create);
    router.get('/api/v1/groups', auth, validate(...v.listMineRules), listMine);
    router.get('/api/v1/groups/:groupId', auth, validate(...v.groupRules), get);
    router.patch('/api/v1/groups/:groupId', auth, validate(...v.updateRules), update);
    router.delete('/api/v1/groups/:groupId', auth, validate(...v.groupRules), dissolve);
    router.post('/api/v1/groups/:groupId/join', auth, validate(...v.joinRules), joinLimit, join);
    router.post('/api/v1/groups/:groupId/leave', auth, validate(...v.groupRules), leave);
    router.get('/api/v1/groups/:groupId/members', auth, validate(...v.groupPageRules), members);
    router.post('/api/v1/groups/:groupId/members', auth, validate(...v.inviteRules), invite);
    router.patch(
      '/api/v1/groups/:groupId/members/:userId',
      auth,
      validate(...v.updateMemberRules),
      updateMember,
    );
    router.delete(
      '/api/v1/groups/:groupId/members/:userId',
      auth,
      validate(...v.removeMemberRules),
      removeMember,
    );
    router.post('/api/v1/groups/:groupId/transfer', auth, validate(...v.transferRules), transfer);
    router.put('/api/v1/groups/:groupId/mute', auth, validate(...v.muteAllRules), muteAll);
    router.get('/api/v1/groups/:groupId/join-requests', auth, validate(...v.groupPageRules), joinRequests);
    router.post(
      '/api/v1/groups/:groupId/join-requests/:requestId/approve',
      auth,
      validate(...v.joinRequestRules),
      approve,
    );
    router.post(
      '/api/v1/groups/:groupId/join-requests/:requestId/reject',
      auth,
      validate(...v.joinRequestRules),
      reject,
    );
  };
}
