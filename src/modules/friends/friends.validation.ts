import { body, query } from 'express-validator';
import { ID_RE, idParam, optionalString, pageQuery } from '../../shared/validators';

/** A `?flag=true|false|1|0` query parameter. */
function boolQuery(name: string) {
  return query(name).optional().isIn(['true', 'false', '1', '0']).withMessage('must be true or false');
}

/** GET /api/v1/friends. */
export const listFriendsRules = [boolQuery('all'), ...pageQuery()];

/** PATCH /api/v1/friends/:userId. */
export const updateFriendRules = [
  idParam('userId'),
  optionalString('remark', 0, 64, true),
  body('hidden').optional().isBoolean({ strict: true }).withMessage('must be a boolean'),
];

/** DELETE /api/v1/friends/:userId. */
export const deleteFriendRules = [idParam('userId'), boolQuery('deleteHistory')];

/** POST /api/v1/friend-requests. */
export const sendRequestRules = [
  body('userId')
    .exists({ values: 'null' })
    .withMessage('is required')
    .bail()
    .custom((v: unknown) => (typeof v === 'string' || typeof v === 'number') && ID_RE.test(String(v)))
    .withMessage('must be a user id'),
  optionalString('message', 0, 500, true),
  optionalString('remark', 0, 64, true),
];

/** GET /api/v1/friend-requests. */
export const listRequestsRules = [
  query('direction').optional().isIn(['incoming', 'outgoing']).withMessage('must be incoming or outgoing'),
  ...pageQuery(),
];

/** POST /api/v1/friend-requests/:requestId/accept. */
export const acceptRules = [idParam('requestId'), optionalString('remark', 0, 64, true)];

/** POST /api/v1/friend-requests/:requestId/reject. */
export const rejectRules = [idParam('requestId'), optionalString('reply', 0, 500, true)];

/** GET /api/v1/blocks. */
export const listBlocksRules = pageQuery();

/** PUT and DELETE /api/v1/blocks/:userId. */
export const blockRules = [idParam('userId')];
