import { ruleSet, type Check, type FieldRule } from '../../shared/validation';
import {
  idParamRule,
  intString,
  isString,
  matching,
  oneOf,
  pageQuery,
  present,
  satisfies,
} from '../../shared/validators';
import { CONVERSATION_ID_RE } from './conversation-id';
import { contentProblems, MESSAGE_TYPES } from './messages.content';

/**
 * The one definition of what the messages API accepts, for the REST routes and the WebSocket frames alike.
 * Each rule set is checked synchronously (no express-validator chain on the hot paths) and words the
 * VALIDATION_FAILED details itself.
 */

/** What a clientMsgId may be. */
export const CLIENT_MSG_ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
const SEQ_MAX = Number.MAX_SAFE_INTEGER;
const CID_SHAPE = 'must be p:<userId>:<userId>, g:<groupId> or w:world';
const TYPES = `must be one of ${MESSAGE_TYPES.join(', ')}`;

const requiredString = [present, isString()];

/** A conversation id in the body (`send`, `typing` and `read` frames). */
const conversationIdField: FieldRule = {
  in: 'body',
  field: 'conversationId',
  checks: [...requiredString, matching(CONVERSATION_ID_RE, CID_SHAPE)],
};

/** A conversation id in the path. */
const cidParam: FieldRule = { in: 'params', field: 'cid', checks: [matching(CONVERSATION_ID_RE, CID_SHAPE)] };

/** The content must fit the shape of the send's type (an unknown type is the `type` field's problem). */
const contentOfType: Check = (content, subject) => {
  const problems = contentProblems((subject.body as { type?: unknown }).type, content);
  return problems.length ? problems.join('; ') : null;
};

const seqField: FieldRule = {
  in: 'body',
  field: 'seq',
  checks: [
    present,
    satisfies((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0, 'must be an integer >= 0'),
  ],
};

function seqQuery(field: string, min: number, ...more: Check[]): FieldRule {
  return {
    in: 'query',
    field,
    optional: 'undefined',
    checks: [intString(min, SEQ_MAX, `must be an integer >= ${min}`), ...more],
  };
}

/** A send: REST `POST /api/v1/messages` body and WS `send` frame data. */
export const sendRules = ruleSet(
  conversationIdField,
  { in: 'body', field: 'type', checks: [...requiredString, oneOf(MESSAGE_TYPES, TYPES)] },
  { in: 'body', field: 'content', checks: [present, contentOfType] },
  {
    in: 'body',
    field: 'clientMsgId',
    checks: [...requiredString, matching(CLIENT_MSG_ID_RE, 'must be 1-64 characters of A-Z a-z 0-9 _ . : -')],
  },
);

/** A history page: the path's conversation id, at most one of the two cursors, a limit; no body fields. */
export const historyRules = ruleSet(
  cidParam,
  seqQuery('beforeSeq', 1),
  seqQuery(
    'afterSeq',
    0,
    satisfies(
      (_v, subject) => subject.query?.beforeSeq === undefined,
      'give beforeSeq or afterSeq, not both',
    ),
  ),
  {
    in: 'query',
    field: 'limit',
    optional: 'undefined',
    checks: [intString(1, 100, 'must be an integer from 1 to 100')],
  },
);

/** REST read marker: the path's conversation id and `{seq}`. */
export const readRules = ruleSet(cidParam, seqField);

/** WS `read` frame data: `{conversationId, seq}`. */
export const readFrameRules = ruleSet(conversationIdField, seqField);

/** WS `typing` frame data: `{conversationId}`. */
export const typingFrameRules = ruleSet(conversationIdField);

/** A route on one conversation (pin, mute). */
export const conversationRules = ruleSet(cidParam);

/** A route on one message (recall, hide). */
export const messageRules = ruleSet({
  in: 'params',
  field: 'messageId',
  checks: [matching(/^[0-9a-f]{32}$/, 'must be a message id')],
});

/** A world-channel mute of a user. */
export const worldMuteRules = ruleSet(idParamRule('userId'));

/** A page of the chat list (`?cursor`, `?limit` up to 100). */
export const chatListRules = pageQuery(100);
