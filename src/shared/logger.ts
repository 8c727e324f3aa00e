import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'password',
  '*.password',
  'oldPassword',
  '*.oldPassword',
  'newPassword',
  '*.newPassword',
  'captchaCode',
  '*.captchaCode',
  'captchaAnswer',
  '*.captchaAnswer',
  'jwtSecret',
  '*.jwtSecret',
];

/** JSON lines with ISO timestamps and string levels, ready for Filebeat/Logstash. */
export function createLogger(
  options: { level?: string; base?: Record<string, unknown> } = {},
  destination?: pino.DestinationStream,
): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'jim', pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.errWithCause },
    },
    destination ?? pino.destination({ sync: false }),
  );
}

/** Removes secrets from a URL before it is logged (the `token` query parameter of WebSocket upgrades). */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access_token)=)[^&#]*/gi, '$1[redacted]');
}
