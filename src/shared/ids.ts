import { randomBytes } from 'node:crypto';

/**
 * A globally unique, time-ordered id (UUIDv7 layout, 32 hex chars without dashes): unique across
 * servers, so message ids never depend on one database's auto-increment.
 */
export function newId(): string {
  const ms = Date.now();
  const bytes = randomBytes(16);
  bytes.writeUIntBE(ms, 0, 6);
  bytes[6] = (bytes[6] & 0x0f) | 0x70;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  return bytes.toString('hex');
}

/** A short random token for request ids and captcha ids. */
export function randomToken(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}
