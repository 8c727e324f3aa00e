/** A random 128-bit id as 32 hex digits (a clientMsgId); uses the platform's crypto random source. */
export function randomId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** The private conversation id of two users: `p:<smaller>:<larger>`, ids compared as numbers. */
export function privateConversationId(a: string, b: string): string {
  return BigInt(a) < BigInt(b) ? `p:${a}:${b}` : `p:${b}:${a}`;
}
