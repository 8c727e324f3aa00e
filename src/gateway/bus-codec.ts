/*
 * The messages instances send each other on the bus. An instance's own channel carries
 * `<type>\n<userId,userId,...>\n<payload>`: an event to write to those users' connections, or a control
 * message whose type starts with NUL (unlike any event type). The all-instances channel carries broadcasts,
 * `<type>\n<originInstanceId>\n<1 = includeOptedOut>\n<payload>`. The Redis engine's Lua scripts build the
 * routed form themselves (`engine.redis.ts`); everything else encodes and decodes here.
 */

/** A revocation: one token, or all tokens issued at or before `before` (ms) except `keep`. */
export type Revocation = { jti: string } | { before: number; keep: string | null };

/** Control: close connections whose token the revocation covers. */
export const REVOKE_TYPE = '\u0000revoke';
/** Control: the listed users' accounts are no longer active; close all their connections (4003). */
export const CUTOFF_TYPE = '\u0000cutoff';
/** Control: the listed users opted out of broadcasts (payload `1`) or back in (`0`). */
export const OPT_OUT_TYPE = '\u0000optout';
/** Control: send `resync` to every connection of the receiving instance. */
export const RESYNC_ALL_TYPE = '\u0000resync';

/** A message received on an instance's own channel. */
export type RoutedMessage =
  | { kind: 'event'; type: string; userIds: string[]; payload: string }
  | { kind: 'resync' }
  | { kind: 'cutoff'; userIds: string[] }
  | { kind: 'optOut'; userIds: string[]; optedOut: boolean }
  | { kind: 'revoke'; userIds: string[]; revocation: Revocation };

/** A broadcast received on the all-instances channel. */
export interface BroadcastMessage {
  type: string;
  origin: string;
  /** Also to the users who opted out of broadcasts. */
  everyone: boolean;
  payload: string;
}

/** `<type>\n<userIds>\n<payload>` (the form the Redis engine's ROUTE script builds). */
export function encodeRouted(type: string, userIds: readonly string[], payload: string): string {
  return `${type}\n${userIds.join(',')}\n${payload}`;
}

/** Decodes a message of an instance's own channel; null when it is malformed or of an unknown control type. */
export function decodeRouted(message: string): RoutedMessage | null {
  const a = message.indexOf('\n');
  const b = message.indexOf('\n', a + 1);
  if (a < 0 || b < 0) return null;
  const type = message.slice(0, a);
  const userIds = message.slice(a + 1, b).split(',');
  if (message.charCodeAt(0) !== 0) return { kind: 'event', type, userIds, payload: message.slice(b + 1) };
  switch (type) {
    case RESYNC_ALL_TYPE:
      return { kind: 'resync' };
    case CUTOFF_TYPE:
      return { kind: 'cutoff', userIds };
    case OPT_OUT_TYPE:
      return { kind: 'optOut', userIds, optedOut: message.slice(b + 1) === '1' };
    case REVOKE_TYPE:
      try {
        return { kind: 'revoke', userIds, revocation: JSON.parse(message.slice(b + 1)) as Revocation };
      } catch {
        return null;
      }
    default:
      return null;
  }
}

/** `<type>\n<origin>\n<0|1>\n<payload>` for the all-instances channel. */
export function encodeBroadcast(type: string, origin: string, everyone: boolean, payload: string): string {
  return `${type}\n${origin}\n${everyone ? 1 : 0}\n${payload}`;
}

/** Decodes a broadcast; null when it is malformed. */
export function decodeBroadcast(message: string): BroadcastMessage | null {
  const a = message.indexOf('\n');
  const b = message.indexOf('\n', a + 1);
  const c = message.indexOf('\n', b + 1);
  if (a < 0 || b < 0 || c < 0) return null;
  return {
    type: message.slice(0, a),
    origin: message.slice(a + 1, b),
    everyone: message.slice(b + 1, c) === '1',
    payload: message.slice(c + 1),
  };
}
