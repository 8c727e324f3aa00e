import { ID_RE } from '../../shared/validators';

/** A parsed conversation id. */
export type ConversationRef =
  | { kind: 'private'; id: string; userIds: [string, string] }
  | { kind: 'group'; id: string; groupId: string }
  | { kind: 'world'; id: string };

/** The world channel's conversation id. */
export const WORLD_ID = 'w:world';

/** Loose shape check used by validators; `parseConversationId` does the full check. */
export const CONVERSATION_ID_RE = /^(?:p:[1-9]\d{0,18}:[1-9]\d{0,18}|g:[1-9]\d{0,18}|w:world)$/;

/** The private conversation id of two users: `p:<smaller>:<larger>`, ids compared as numbers. */
export function privateConversationId(a: string, b: string): string {
  return BigInt(a) < BigInt(b) ? `p:${a}:${b}` : `p:${b}:${a}`;
}

/** Parses `p:<smaller>:<larger>`, `g:<groupId>` or `w:world`; null when malformed or not canonical. */
export function parseConversationId(cid: string): ConversationRef | null {
  if (typeof cid !== 'string' || !CONVERSATION_ID_RE.test(cid)) return null;
  if (cid === WORLD_ID) return { kind: 'world', id: cid };
  const parts = cid.split(':');
  if (parts[0] === 'g') return { kind: 'group', id: cid, groupId: parts[1] };
  const [, a, b] = parts;
  if (!ID_RE.test(a) || !ID_RE.test(b) || BigInt(a) >= BigInt(b)) return null;
  return { kind: 'private', id: cid, userIds: [a, b] };
}
