/**
 * Every error code a client can get, over REST (`{error: {code}}`) and in WebSocket `error` frames: its HTTP
 * status and what it means. The error classes accept only these codes, the OpenAPI `Error.code` enum is built
 * from this list, and `docs/errors.md` is checked against it by a test.
 */

/** One code's entry. */
export interface ErrorCodeSpec {
  /** The HTTP status the code is answered with. */
  readonly status: number;
  /** Further statuses one route gives it (the same meaning seen from another route). */
  readonly alsoStatus?: readonly number[];
  /** What it means for the client, in one line. */
  readonly meaning: string;
}

export const ERROR_CODES = {
  VALIDATION_FAILED: {
    status: 400,
    meaning: 'The request or frame is malformed; `details` lists the fields at fault',
  },
  BAD_REQUEST: { status: 400, meaning: 'The request body could not be read for another reason' },
  WEAK_PASSWORD: {
    status: 400,
    meaning: 'The password is too weak (8-128 characters, three kinds of character)',
  },
  CAPTCHA_REQUIRED: { status: 400, meaning: 'A captcha answer is needed after repeated failed logins' },
  CAPTCHA_INVALID: { status: 400, meaning: 'The captcha answer is wrong or expired' },
  CANNOT_FRIEND_SELF: { status: 400, meaning: 'A friend request to yourself' },
  CANNOT_BLOCK_SELF: { status: 400, meaning: 'A block of yourself' },
  CANNOT_REMOVE_SELF: { status: 400, meaning: 'Removing yourself from a group; use leave' },
  UNAUTHENTICATED: {
    status: 401,
    meaning: 'No token, or a bad, expired or revoked one; log in again',
  },
  INVALID_CREDENTIALS: {
    status: 401,
    alsoStatus: [403],
    meaning: 'Wrong username or password (403 when changing the password: the old one is wrong)',
  },
  SIGNATURE_INVALID: {
    status: 401,
    meaning: 'A federation request unsigned, badly signed, stale, replayed or with a wrong digest',
  },
  FORBIDDEN: { status: 403, meaning: 'Not allowed (for example an origin that is not allowed)' },
  ACCOUNT_DISABLED: { status: 403, meaning: 'The account is disabled' },
  NOT_FRIENDS: { status: 403, meaning: 'Only friends may do this; `details` names the users at fault' },
  BLOCKED: {
    status: 403,
    meaning: 'A block between the users forbids it; `details` names them where several',
  },
  NOT_A_MEMBER: { status: 403, meaning: 'You are not a member of the group or conversation' },
  MUTED: { status: 403, meaning: 'You are muted there, or the group is muted for plain members' },
  BANNED: { status: 403, meaning: 'You are banned from the group' },
  INVITE_ONLY: { status: 403, meaning: 'The group can be joined by invitation only' },
  WORLD_DISABLED: { status: 403, meaning: 'The world channel is disabled on this server' },
  PEER_NOT_ALLOWED: {
    status: 403,
    meaning: 'A federation request from a server not allowed, or meant for another server',
  },
  NOT_FOUND: { status: 404, meaning: 'No such route or resource' },
  USER_NOT_FOUND: { status: 404, meaning: 'No such (active) user' },
  FRIEND_NOT_FOUND: { status: 404, meaning: 'The user is not your friend' },
  REQUEST_NOT_FOUND: { status: 404, meaning: 'No such friend request' },
  GROUP_NOT_FOUND: { status: 404, meaning: 'No such group, or it was dissolved' },
  MEMBER_NOT_FOUND: { status: 404, meaning: 'The user is not a member of the group' },
  JOIN_REQUEST_NOT_FOUND: { status: 404, meaning: 'No such join request' },
  CONVERSATION_NOT_FOUND: { status: 404, meaning: 'No such conversation' },
  MESSAGE_NOT_FOUND: { status: 404, meaning: 'No such message in the conversation' },
  UNKNOWN_FRAME: { status: 404, meaning: 'A WebSocket frame type no handler serves' },
  CONFLICT: { status: 409, meaning: 'The change conflicts with the current state' },
  USERNAME_TAKEN: { status: 409, meaning: 'The username is taken' },
  ALREADY_FRIENDS: { status: 409, meaning: 'You are already friends' },
  REQUEST_PENDING: { status: 409, meaning: 'Your earlier friend request to this user still waits' },
  REQUEST_NOT_PENDING: { status: 409, meaning: 'The request was already accepted, refused or withdrawn' },
  ALREADY_MEMBER: { status: 409, meaning: 'The user is already a member of the group' },
  GROUP_FULL: { status: 409, meaning: 'The group has reached its maxMembers' },
  MAX_MEMBERS_TOO_LOW: { status: 409, meaning: 'maxMembers below the current member count' },
  OWNER_CANNOT_LEAVE: { status: 409, meaning: 'The owner must transfer ownership before leaving' },
  RECALL_WINDOW_PASSED: { status: 409, meaning: 'The message is too old to recall' },
  CLIENT_MSG_ID_REUSED: {
    status: 409,
    meaning: 'The clientMsgId is used by one of your messages in another conversation',
  },
  MESSAGE_IN_PROGRESS: {
    status: 409,
    meaning: 'The same clientMsgId is still being stored by another request; retry',
  },
  QUOTA_EXCEEDED: { status: 409, meaning: 'The upload would pass your storage quota' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'The body or file is larger than allowed' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    meaning: 'A body encoding, or file contents, that is not accepted',
  },
  RANGE_NOT_SATISFIABLE: { status: 416, meaning: 'The requested byte range is past the end of the file' },
  RATE_LIMITED: { status: 429, meaning: 'Too many requests or frames; retry after `Retry-After`' },
  TOO_MANY_CONNECTIONS: { status: 429, meaning: 'The user holds the most WebSocket connections allowed' },
  INTERNAL: { status: 500, meaning: 'The server failed; the details are in its logs' },
  UNAVAILABLE: {
    status: 503,
    meaning: 'A backing service cannot be reached, or the instance is going away; retry after `Retry-After`',
  },
} as const satisfies Record<string, ErrorCodeSpec>;

/** A code of the registry. */
export type ErrorCode = keyof typeof ERROR_CODES;

type Entry<C extends ErrorCode> = (typeof ERROR_CODES)[C];

/** The statuses a code is answered with. */
export type StatusOf<C extends ErrorCode> =
  Entry<C>['status'] | (Entry<C> extends { alsoStatus: readonly (infer S)[] } ? S : never);

/** The codes answered with `status`. */
export type CodeWithStatus<S extends number> = {
  [C in ErrorCode]: S extends StatusOf<C> ? C : never;
}[ErrorCode];

/** Every code of the registry, in its order. */
export const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as ErrorCode[];

/** Whether `status` is one the code may be answered with. */
export function statusAllowed(code: ErrorCode, status: number): boolean {
  const spec: ErrorCodeSpec = ERROR_CODES[code];
  return spec.status === status || (spec.alsoStatus ?? []).includes(status);
}
