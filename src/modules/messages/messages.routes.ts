import type { RequestHandler, Router } from 'express';
import { body, param, query, type ValidationChain } from 'express-validator';
import { validate } from '../../shared/validation';
import { idParam, limitOf, pageQuery } from '../../shared/validators';
import { authOf, requireAuth, type TokenService } from '../accounts';
import { CONVERSATION_ID_RE } from './conversation-id';
import { contentProblems, MESSAGE_TYPES } from './messages.content';
import { CHAT_LIST_DEFAULT_LIMIT, type MessagesService, type SendInput } from './messages.service';

export interface MessagesRoutesDeps {
  messages: MessagesService;
  tokens: TokenService;
}

/** What a clientMsgId may be. */
export const CLIENT_MSG_ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
const SEQ_MAX = Number.MAX_SAFE_INTEGER;

/** A conversation id body field. */
function conversationIdField(field = 'conversationId'): ValidationChain {
  return body(field)
    .exists({ values: 'null' })
    .withMessage('is required')
    .bail()
    .isString()
    .withMessage('must be a string')
    .bail()
    .matches(CONVERSATION_ID_RE)
    .withMessage('must be p:<userId>:<userId>, g:<groupId> or w:world');
}

/**
 * True when `data` is a send that `sendRules` accept as it is: exactly the four fields, each passing the
 * same checks. The common case then skips express-validator (a tenth of the server's CPU per WS send);
 * anything else still goes through `sendRules`, which also words the errors. Used by REST and WS.
 */
export function plainValidSend(data: unknown): data is SendInput {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return false;
  const d = data as Record<string, unknown>;
  if (Object.keys(d).length !== 4) return false;
  const { conversationId, type, content, clientMsgId } = d;
  return (
    typeof conversationId === 'string' &&
    CONVERSATION_ID_RE.test(conversationId) &&
    typeof type === 'string' &&
    (MESSAGE_TYPES as readonly string[]).includes(type) &&
    content !== undefined &&
    content !== null &&
    contentProblems(type, content).length === 0 &&
    typeof clientMsgId === 'string' &&
    CLIENT_MSG_ID_RE.test(clientMsgId)
  );
}

/** `sendRules` as middleware, with the `plainValidSend` shortcut. */
function validateSend(): RequestHandler {
  const full = validate(...sendRules);
  return (req, res, next) => (plainValidSend(req.body) ? next() : full(req, res, next));
}

/** Validation of a send (REST body and WS `send` data alike). */
export const sendRules: ValidationChain[] = [
  conversationIdField(),
  body('type')
    .exists({ values: 'null' })
    .withMessage('is required')
    .bail()
    .isString()
    .withMessage('must be a string')
    .bail()
    .isIn(MESSAGE_TYPES)
    .withMessage(`must be one of ${MESSAGE_TYPES.join(', ')}`),
  body('content')
    .exists({ values: 'null' })
    .withMessage('is required')
    .bail()
    .custom((content: unknown, { req }) => {
      const problems = contentProblems(req.body?.type, content);
      if (problems.length) throw new Error(problems.join('; '));
      return true;
    }),
  body('clientMsgId')
    .exists({ values: 'null' })
    .withMessage('is required')
    .bail()
    .isString()
    .withMessage('must be a string')
    .bail()
    .matches(CLIENT_MSG_ID_RE)
    .withMessage('must be 1-64 characters of A-Z a-z 0-9 _ . : -'),
];

/** Validation of a read marker (REST body and WS `read` data; the WS frame also carries conversationId). */
export const seqRule: ValidationChain = body('seq')
  .exists({ values: 'null' })
  .withMessage('is required')
  .bail()
  .custom((v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)
  .withMessage('must be an integer >= 0');

/** Validation of a WS `read` frame's data. */
export const readFrameRules: ValidationChain[] = [conversationIdField(), seqRule];

/** Validation of a WS `typing` frame's data. */
export const typingFrameRules: ValidationChain[] = [conversationIdField()];

const cidParam = param('cid')
  .matches(CONVERSATION_ID_RE)
  .withMessage('must be p:<userId>:<userId>, g:<groupId> or w:world');

const messageIdParam = param('messageId')
  .matches(/^[0-9a-f]{32}$/)
  .withMessage('must be a message id');

function seqQuery(name: string, min: number): ValidationChain {
  return query(name)
    .optional()
    .isString()
    .withMessage(`must be an integer >= ${min}`)
    .bail()
    .isInt({ min, max: SEQ_MAX })
    .withMessage(`must be an integer >= ${min}`);
}

const historyQuery: ValidationChain[] = [
  seqQuery('beforeSeq', 1),
  seqQuery('afterSeq', 0)
    .custom((_v, { req }) => req.query?.beforeSeq === undefined)
    .withMessage('give beforeSeq or afterSeq, not both'),
  query('limit')
    .optional()
    .isString()
    .withMessage('must be an integer from 1 to 100')
    .bail()
    .isInt({ min: 1, max: 100 })
    .withMessage('must be an integer from 1 to 100'),
];

const PLAIN_INT_RE = /^(?:0|[1-9]\d{0,15})$/;

/** An absent value, or a plain decimal string whose value lies in [min, max]. */
function plainIntIn(v: unknown, min: number, max: number): boolean {
  if (v === undefined) return true;
  if (typeof v !== 'string' || !PLAIN_INT_RE.test(v)) return false;
  const n = Number(v);
  return n >= min && n <= max;
}

/**
 * True when a history request is one that `cidParam` and `historyQuery` accept as it is (a conversation id,
 * at most one cursor, plain decimal values in range, no body fields). The common case then skips
 * express-validator, whose chain runs cost more than the page query; anything else still goes through the
 * chains, which also word the errors.
 */
export function plainValidHistory(req: {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body?: unknown;
}): boolean {
  const b = req.body;
  if (b !== undefined && b !== null && (typeof b !== 'object' || Array.isArray(b) || Object.keys(b).length))
    return false;
  const cid = req.params.cid;
  if (typeof cid !== 'string' || !CONVERSATION_ID_RE.test(cid)) return false;
  const q = req.query;
  if (q.beforeSeq !== undefined && q.afterSeq !== undefined) return false;
  return (
    plainIntIn(q.beforeSeq, 1, SEQ_MAX) && plainIntIn(q.afterSeq, 0, SEQ_MAX) && plainIntIn(q.limit, 1, 100)
  );
}

/** Validation of a history request: the path's conversation id and the query. */
export const historyRules: ValidationChain[] = [cidParam, ...historyQuery];

/** `historyRules` as middleware, with the `plainValidHistory` shortcut. */
function validateHistory(): RequestHandler {
  const full = validate(...historyRules);
  return (req, res, next) => (plainValidHistory(req) ? next() : full(req, res, next));
}

function optInt(v: unknown): number | undefined {
  return v === undefined ? undefined : Number(v);
}

/**
 * @openapi
 * components:
 *   schemas:
 *     Message:
 *       type: object
 *       required: [id, conversationId, seq, senderId, type, content, clientMsgId, createdAt, status]
 *       properties:
 *         id: { type: string, description: "globally unique", example: "0190f5a4c1b27f3e8a9d0c1b2a3f4e5d" }
 *         conversationId: { type: string, example: "p:12:40" }
 *         seq: { type: integer, description: "1, 2, 3 … per conversation, no gaps" }
 *         senderId: { type: string }
 *         type: { type: string, enum: [text, image, voice, video, file, location, emoji] }
 *         content:
 *           description: >
 *             By type: text {text (1-4000)}; image {url, width?, height?, size?, mime?, uploadId?};
 *             voice {url, duration, size?, uploadId?}; video {url, duration?, width?, height?, size?, thumbUrl?,
 *             uploadId?}; file {url, name, size, mime?, uploadId?}; location {latitude, longitude, label?};
 *             emoji {code} or {url}. With uploadId (an upload of the sender's), url, a voice's duration and a
 *             file's name and size may be left out: the server fills them from the upload (see docs/media.md).
 *             Optional fields (?) may be left out or null when sending; in a message every field of the
 *             type is present, those without a value as null (an emoji is {code, url} with one of them
 *             null). URLs are http or https, at most 2048 characters. null once recalled.
 *           anyOf:
 *             - $ref: '#/components/schemas/TextContent'
 *             - $ref: '#/components/schemas/ImageContent'
 *             - $ref: '#/components/schemas/VoiceContent'
 *             - $ref: '#/components/schemas/VideoContent'
 *             - $ref: '#/components/schemas/FileContent'
 *             - $ref: '#/components/schemas/LocationContent'
 *             - $ref: '#/components/schemas/EmojiContent'
 *             - $ref: '#/components/schemas/Null'
 *         clientMsgId: { type: string }
 *         createdAt: { type: string, format: date-time }
 *         status: { type: string, enum: [normal, recalled] }
 *     TextContent:
 *       type: object
 *       required: [text]
 *       properties:
 *         text: { type: string, minLength: 1, maxLength: 4000 }
 *     ImageContent:
 *       type: object
 *       required: [url, width, height, size, mime, uploadId]
 *       properties:
 *         url: { type: string, format: iri }
 *         width: { type: integer, nullable: true, minimum: 1, maximum: 100000 }
 *         height: { type: integer, nullable: true, minimum: 1, maximum: 100000 }
 *         size: { type: integer, nullable: true, minimum: 0, description: bytes }
 *         mime: { type: string, nullable: true, example: image/png }
 *         uploadId: { type: string, nullable: true, description: "an upload of the sender's (POST /api/v1/uploads); the server fills url, size and what else the upload knows" }
 *     VoiceContent:
 *       type: object
 *       required: [url, duration, size, uploadId]
 *       properties:
 *         url: { type: string, format: iri }
 *         duration: { type: number, minimum: 0, maximum: 86400, description: seconds }
 *         size: { type: integer, nullable: true, minimum: 0 }
 *         uploadId: { type: string, nullable: true, description: "an upload of the sender's (POST /api/v1/uploads); the server fills url, size and what else the upload knows" }
 *     VideoContent:
 *       type: object
 *       required: [url, duration, width, height, size, thumbUrl, uploadId]
 *       properties:
 *         url: { type: string, format: iri }
 *         duration: { type: number, nullable: true, minimum: 0, maximum: 86400 }
 *         width: { type: integer, nullable: true, minimum: 1, maximum: 100000 }
 *         height: { type: integer, nullable: true, minimum: 1, maximum: 100000 }
 *         size: { type: integer, nullable: true, minimum: 0 }
 *         thumbUrl: { type: string, nullable: true, format: iri }
 *         uploadId: { type: string, nullable: true, description: "an upload of the sender's (POST /api/v1/uploads); the server fills url, size and what else the upload knows" }
 *     FileContent:
 *       type: object
 *       required: [url, name, size, mime, uploadId]
 *       properties:
 *         url: { type: string, format: iri }
 *         name: { type: string, minLength: 1, maxLength: 255 }
 *         size: { type: integer, minimum: 0 }
 *         mime: { type: string, nullable: true }
 *         uploadId: { type: string, nullable: true, description: "an upload of the sender's (POST /api/v1/uploads); the server fills url, size and what else the upload knows" }
 *     LocationContent:
 *       type: object
 *       required: [latitude, longitude, label]
 *       properties:
 *         latitude: { type: number, minimum: -90, maximum: 90 }
 *         longitude: { type: number, minimum: -180, maximum: 180 }
 *         label: { type: string, nullable: true, maxLength: 200 }
 *     EmojiContent:
 *       type: object
 *       required: [code, url]
 *       description: exactly one of code and url is set, the other is null
 *       properties:
 *         code: { type: string, nullable: true, maxLength: 64 }
 *         url: { type: string, nullable: true, format: iri, description: a sticker }
 *     SendMessage:
 *       type: object
 *       required: [conversationId, type, content, clientMsgId]
 *       additionalProperties: false
 *       properties:
 *         conversationId: { type: string, description: "p:<smaller>:<larger>, g:<groupId> or w:world" }
 *         type: { type: string, enum: [text, image, voice, video, file, location, emoji] }
 *         content: { type: object, description: "the type's content (see Message); optional fields may be left out or null; image, voice, video and file content may name an uploadId instead of a url (400 VALIDATION_FAILED when it is not an upload of the sender's or not of the message's kind)" }
 *         clientMsgId: { type: string, pattern: "^[A-Za-z0-9_.:-]{1,64}$", description: "idempotency key per sender, unique across all your conversations" }
 *     Conversation:
 *       type: object
 *       required: [conversationId, kind, peer, group, lastMessage, lastSeq, readSeq, unreadCount, pinned, muted]
 *       properties:
 *         conversationId: { type: string }
 *         kind: { type: string, enum: [private, group, world] }
 *         peer: { oneOf: [{ $ref: '#/components/schemas/User' }, { $ref: '#/components/schemas/Null' }] }
 *         group: { oneOf: [{ $ref: '#/components/schemas/Group' }, { $ref: '#/components/schemas/Null' }] }
 *         lastMessage:
 *           description: the latest message you still see (not deleted for yourself); null when none
 *           oneOf: [{ $ref: '#/components/schemas/Message' }, { $ref: '#/components/schemas/Null' }]
 *         lastSeq: { type: integer }
 *         readSeq: { type: integer }
 *         unreadCount: { type: integer, description: "messages after readSeq not sent by you and not deleted by you" }
 *         pinned: { type: boolean }
 *         muted: { type: boolean }
 */
export function messagesRoutes(deps: MessagesRoutesDeps) {
  const auth = requireAuth(deps.tokens);
  const { messages } = deps;
  return (router: Router): void => {
    /**
     * @openapi
     * /api/v1/messages:
     *   post:
     *     operationId: sendMessage
     *     tags: [Messages]
     *     summary: Send a message; a repeated clientMsgId from the same sender returns the original
     *     requestBody:
     *       required: true
     *       content:
     *         application/json:
     *           schema: { $ref: '#/components/schemas/SendMessage' }
     *     responses:
     *       201:
     *         description: stored (and pushed to the members as a `message` event)
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Message' } } }
     *       200:
     *         description: an idempotent retry; the original message
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Message' } } }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403:
     *         description: NOT_FRIENDS, BLOCKED, NOT_A_MEMBER, MUTED or WORLD_DISABLED
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
     *       404:
     *         description: CONVERSATION_NOT_FOUND
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
     *       409:
     *         description: >
     *           CLIENT_MSG_ID_REUSED — the clientMsgId is already used by one of your messages in another
     *           conversation; nothing was stored, send again with a new clientMsgId (the same conversation is
     *           the idempotent 200). MESSAGE_IN_PROGRESS — a retry overtook the original, which is still being
     *           stored; retry later
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
     *       429: { $ref: '#/components/responses/RateLimited' }
     */
    router.post('/api/v1/messages', auth, validateSend(), async (req, res) => {
      const { message, created } = await messages.send(authOf(req).userId, req.body as SendInput);
      res.status(created ? 201 : 200).json(message);
    });

    /**
     * @openapi
     * /api/v1/conversations:
     *   get:
     *     operationId: listConversations
     *     tags: [Messages]
     *     summary: The chat list, pinned first, then by last activity, in pages
     *     description: >
     *       Ordered pinned first, then by last activity (newest first), then by conversation id. Page through
     *       it by passing each page's nextCursor as `cursor` until nextCursor is null. The cursor is opaque; it
     *       holds the position of the page's last line, so the next page starts strictly after it: lines that
     *       do not change are never repeated nor skipped. A conversation that moves while you page (a new
     *       message, pin or unpin) may move to a page you already have; merge by conversationId and rely on
     *       the `message` events (or fetch the first page again).
     *     parameters:
     *       - { in: query, name: cursor, description: "nextCursor of the previous page", schema: { type: string } }
     *       - { in: query, name: limit, schema: { type: integer, minimum: 1, maximum: 100, default: 20 } }
     *     responses:
     *       200:
     *         description: a page of the chat list
     *         content:
     *           application/json:
     *             schema:
     *               type: object
     *               required: [items, nextCursor]
     *               properties:
     *                 items: { type: array, items: { $ref: '#/components/schemas/Conversation' } }
     *                 nextCursor: { type: string, nullable: true, description: "cursor of the next page; null on the last page" }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     */
    router.get('/api/v1/conversations', auth, validate(...pageQuery(100)), async (req, res) => {
      res.json(
        await messages.conversations(authOf(req).userId, {
          cursor: typeof req.query.cursor === 'string' ? req.query.cursor : null,
          limit: limitOf(req.query.limit, CHAT_LIST_DEFAULT_LIMIT),
        }),
      );
    });

    /**
     * @openapi
     * /api/v1/conversations/{cid}/messages:
     *   get:
     *     operationId: listMessages
     *     tags: [Messages]
     *     summary: History in ascending seq; without a cursor the latest `limit`
     *     description: >
     *       Offline sync: page forward with afterSeq=<highest seq you hold> until nextCursor is null.
     *       Scrolling back: beforeSeq=<lowest seq you hold>. nextCursor is the value for the same parameter
     *       of the next page (the last seq going forward, the first seq going back), or null at the end.
     *     parameters:
     *       - { in: path, name: cid, required: true, schema: { type: string } }
     *       - { in: query, name: beforeSeq, schema: { type: integer, minimum: 1 } }
     *       - { in: query, name: afterSeq, schema: { type: integer, minimum: 0 } }
     *       - { in: query, name: limit, schema: { type: integer, minimum: 1, maximum: 100, default: 20 } }
     *     responses:
     *       200:
     *         description: a page
     *         content:
     *           application/json:
     *             schema:
     *               type: object
     *               properties:
     *                 items: { type: array, items: { $ref: '#/components/schemas/Message' } }
     *                 nextCursor: { type: string, nullable: true }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403:
     *         description: NOT_A_MEMBER or WORLD_DISABLED
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
     *       404:
     *         description: CONVERSATION_NOT_FOUND
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
     */
    router.get('/api/v1/conversations/:cid/messages', auth, validateHistory(), async (req, res) => {
      const q = req.query as Record<string, string | undefined>;
      res.json(
        await messages.history(authOf(req).userId, String(req.params.cid), {
          beforeSeq: optInt(q.beforeSeq),
          afterSeq: optInt(q.afterSeq),
          limit: optInt(q.limit) ?? 20,
        }),
      );
    });

    /**
     * @openapi
     * /api/v1/conversations/{cid}/read:
     *   post:
     *     operationId: markConversationRead
     *     tags: [Messages]
     *     summary: Move your read marker forward (never back); the members get a `read` event
     *     description: >
     *       The `read` event goes to the conversation's members but those you block; in w:world only to your
     *       own devices.
     *     parameters:
     *       - { in: path, name: cid, required: true, schema: { type: string } }
     *     requestBody:
     *       required: true
     *       content:
     *         application/json:
     *           schema:
     *             type: object
     *             required: [seq]
     *             additionalProperties: false
     *             properties:
     *               seq: { type: integer, minimum: 0, description: "clamped to the conversation's last seq" }
     *     responses:
     *       204: { description: recorded }
     *       400: { $ref: '#/components/responses/BadRequest' }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/Forbidden' }
     *       404: { $ref: '#/components/responses/NotFound' }
     */
    router.post('/api/v1/conversations/:cid/read', auth, validate(cidParam, seqRule), async (req, res) => {
      await messages.markRead(authOf(req).userId, String(req.params.cid), req.body.seq as number);
      res.status(204).end();
    });

    /**
     * @openapi
     * /api/v1/conversations/{cid}/pin:
     *   put:
     *     operationId: pinConversation
     *     tags: [Messages]
     *     summary: Pin the conversation to the top of your chat list
     *     parameters:
     *       - { in: path, name: cid, required: true, schema: { type: string } }
     *     responses:
     *       204: { description: pinned }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/Forbidden' }
     *       404: { $ref: '#/components/responses/NotFound' }
     *   delete:
     *     operationId: unpinConversation
     *     tags: [Messages]
     *     summary: Unpin the conversation
     *     parameters:
     *       - { in: path, name: cid, required: true, schema: { type: string } }
     *     responses:
     *       204: { description: unpinned }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/Forbidden' }
     *       404: { $ref: '#/components/responses/NotFound' }
     */
    for (const [method, value] of [
      ['put', true],
      ['delete', false],
    ] as const) {
      router[method]('/api/v1/conversations/:cid/pin', auth, validate(cidParam), async (req, res) => {
        await messages.setPinned(authOf(req).userId, String(req.params.cid), value);
        res.status(204).end();
      });
    }

    /**
     * @openapi
     * /api/v1/conversations/{cid}/mute:
     *   put:
     *     operationId: muteConversation
     *     tags: [Messages]
     *     summary: Stop `message` pushes for this conversation (unread counts still grow); on w:world this switches the world channel off
     *     parameters:
     *       - { in: path, name: cid, required: true, schema: { type: string } }
     *     responses:
     *       204: { description: muted }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/Forbidden' }
     *       404: { $ref: '#/components/responses/NotFound' }
     *   delete:
     *     operationId: unmuteConversation
     *     tags: [Messages]
     *     summary: Resume pushes for this conversation
     *     parameters:
     *       - { in: path, name: cid, required: true, schema: { type: string } }
     *     responses:
     *       204: { description: unmuted }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/Forbidden' }
     *       404: { $ref: '#/components/responses/NotFound' }
     */
    for (const [method, value] of [
      ['put', true],
      ['delete', false],
    ] as const) {
      router[method]('/api/v1/conversations/:cid/mute', auth, validate(cidParam), async (req, res) => {
        await messages.setMuted(authOf(req).userId, String(req.params.cid), value);
        res.status(204).end();
      });
    }

    /**
     * @openapi
     * /api/v1/messages/{messageId}/recall:
     *   post:
     *     operationId: recallMessage
     *     tags: [Messages]
     *     summary: Recall a message (own within messages.recallSeconds; in groups, a lower role's any time)
     *     description: >
     *       Anyone may recall their own message within messages.recallSeconds (then 409 RECALL_WINDOW_PASSED,
     *       whatever their role). In a group, the owner may also recall admins' and members' messages, and
     *       admins plain members' (and former members') messages, at any time; nobody but the owner recalls
     *       the owner's, and an admin never recalls another admin's (403 FORBIDDEN). The seq stays, the
     *       content is removed from storage; everyone in the conversation gets `message.recalled`, muted or
     *       not (muting stops only `message` pushes; in w:world every connected user).
     *     parameters:
     *       - { in: path, name: messageId, required: true, schema: { type: string } }
     *     responses:
     *       200:
     *         description: the recalled message
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Message' } } }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403:
     *         description: FORBIDDEN — not your message, and your group role is not above the sender's
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
     *       404:
     *         description: MESSAGE_NOT_FOUND (also for messages of conversations you cannot see)
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
     *       409:
     *         description: RECALL_WINDOW_PASSED
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
     */
    router.post('/api/v1/messages/:messageId/recall', auth, validate(messageIdParam), async (req, res) => {
      res.json(await messages.recall(authOf(req).userId, String(req.params.messageId)));
    });

    /**
     * @openapi
     * /api/v1/messages/{messageId}:
     *   delete:
     *     operationId: deleteMessage
     *     tags: [Messages]
     *     summary: Hide a message for yourself only
     *     parameters:
     *       - { in: path, name: messageId, required: true, schema: { type: string } }
     *     responses:
     *       204: { description: hidden for the caller }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       404:
     *         description: MESSAGE_NOT_FOUND
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
     */
    router.delete('/api/v1/messages/:messageId', auth, validate(messageIdParam), async (req, res) => {
      await messages.hide(authOf(req).userId, String(req.params.messageId));
      res.status(204).end();
    });

    /**
     * @openapi
     * /api/v1/world/mutes/{userId}:
     *   put:
     *     operationId: muteWorldUser
     *     tags: [Messages]
     *     summary: Mute a user in the world channel w:world (administrators only); their sends get 403 MUTED
     *     parameters:
     *       - { in: path, name: userId, required: true, schema: { type: string } }
     *     responses:
     *       204: { description: muted }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/Forbidden' }
     *       404:
     *         description: USER_NOT_FOUND
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
     *   delete:
     *     operationId: unmuteWorldUser
     *     tags: [Messages]
     *     summary: Let a user speak in the world channel again (administrators only)
     *     parameters:
     *       - { in: path, name: userId, required: true, schema: { type: string } }
     *     responses:
     *       204: { description: unmuted }
     *       401: { $ref: '#/components/responses/Unauthenticated' }
     *       403: { $ref: '#/components/responses/Forbidden' }
     *       404:
     *         description: USER_NOT_FOUND
     *         content: { application/json: { schema: { $ref: '#/components/schemas/Error' } } }
     */
    for (const [method, value] of [
      ['put', true],
      ['delete', false],
    ] as const) {
      router[method]('/api/v1/world/mutes/:userId', auth, validate(idParam('userId')), async (req, res) => {
        await messages.setWorldMute(authOf(req).userId, String(req.params.userId), value);
        res.status(204).end();
      });
    }
  };
}
