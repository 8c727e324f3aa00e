import { body, query } from 'express-validator';
import {
  ID_RE,
  idParam,
  optionalString,
  optionalUrl,
  pageQuery,
  requiredString,
} from '../../shared/validators';

const POLICIES = ['open', 'approval', 'invite'];
/** Past the last moment MySQL's DATETIME can hold. */
const LATEST_TIME_MS = Date.UTC(10000, 0, 1);

function isId(v: unknown): boolean {
  return (typeof v === 'string' || typeof v === 'number') && ID_RE.test(String(v));
}

/** An array of min..max user ids. */
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

const gid = idParam('groupId');

/** POST /api/v1/groups. */
export const createRules = [
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
];

/** GET /api/v1/groups. */
export const listMineRules = pageQuery();

/** A route on one group with no other input (get, dissolve, leave). */
export const groupRules = [gid];

/** PATCH /api/v1/groups/:groupId. */
export const updateRules = [
  gid,
  nameField(true),
  optionalUrl('avatar'),
  optionalString('announcement', 0, 2000, true),
  joinPolicyField(),
  maxMembersField(),
];

/** POST /api/v1/groups/:groupId/join. */
export const joinRules = [gid, optionalString('message', 0, 500, true)];

/** GET /api/v1/groups/:groupId/members and /join-requests. */
export const groupPageRules = [gid, ...pageQuery()];

/** POST /api/v1/groups/:groupId/members (invite). */
export const inviteRules = [gid, idArray('userIds', 1, 100)];

/** PATCH /api/v1/groups/:groupId/members/:userId. */
export const updateMemberRules = [
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
];

/** DELETE /api/v1/groups/:groupId/members/:userId. */
export const removeMemberRules = [
  gid,
  idParam('userId'),
  query('ban').optional().isIn(['true', 'false', '1', '0']).withMessage('must be true or false'),
];

/** POST /api/v1/groups/:groupId/transfer. */
export const transferRules = [
  gid,
  body('userId')
    .exists({ values: 'null' })
    .withMessage('is required')
    .bail()
    .custom(isId)
    .withMessage('must be a user id'),
];

/** PUT /api/v1/groups/:groupId/mute. */
export const muteAllRules = [
  gid,
  body('mutedAll')
    .exists()
    .withMessage('is required')
    .bail()
    .isBoolean({ strict: true })
    .withMessage('must be a boolean'),
];

/** POST /api/v1/groups/:groupId/join-requests/:requestId/approve and /reject. */
export const joinRequestRules = [gid, idParam('requestId')];
