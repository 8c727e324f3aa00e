import { Redis, type RedisOptions } from 'ioredis';
import { errorSummary, LogThrottle } from '../shared/log-throttle';
import type { Logger } from '../shared/logger';

export { Redis } from 'ioredis';

/** Builds key and channel names under the configured prefix; the only place that knows the prefix. */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** `<prefix><parts joined by ':'>` */
  key(...parts: Array<string | number>): string {
    return this.prefix + parts.join(':');
  }
}

/** The command client and the subscriber client, both on `url`. */
export interface RedisClients {
  command: Redis;
  subscriber: Redis;
  keys: RedisKeys;
}

export interface RedisClientOptions {
  /** Where connection losses and recoveries are logged (warnings at a bounded rate); silent without one. */
  logger?: Logger;
  /** A command unanswered after this long fails (a frozen or unreachable server); 0 waits forever. */
  commandTimeoutMs?: number;
}

/**
 * Client settings that make a request fail fast while Redis is out of reach, so that it answers 503 at once
 * instead of hanging: a command queued while disconnected fails after one reconnection attempt, one sent
 * to a server that does not answer fails after `commandTimeoutMs`; reconnection goes on every second at most.
 */
export function redisOptions(commandTimeoutMs: number): RedisOptions {
  return {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    ...(commandTimeoutMs > 0 ? { commandTimeout: commandTimeoutMs } : {}),
  };
}

/** Connects both clients and waits until they answer. */
export async function createRedisClients(
  url: string,
  prefix: string,
  options: RedisClientOptions = {},
): Promise<RedisClients> {
  const opts = redisOptions(options.commandTimeoutMs ?? 2000);
  const command = new Redis(url, { ...opts, enableAutoPipelining: true });
  const subscriber = new Redis(url, opts);
  watchConnection(command, 'command', options.logger);
  watchConnection(subscriber, 'subscriber', options.logger);
  await Promise.all([command.connect(), subscriber.connect()]);
  return { command, subscriber, keys: new RedisKeys(prefix) };
}

/**
 * Listens to a client's connection events: without an `error` listener ioredis prints every connection
 * error to stderr, outside the JSON log. A loss is logged once, errors while it lasts at a bounded rate,
 * and the recovery once with how long it took.
 */
function watchConnection(client: Redis, role: string, logger?: Logger): void {
  const throttle = logger ? new LogThrottle(logger) : null;
  let lostAt: number | null = null;
  client.on('error', (err: unknown) => {
    throttle?.warn(`redis:${role}`, { redisClient: role, cause: errorSummary(err) }, 'redis client error');
  });
  // `reconnecting` (unlike `close`) is not emitted when the client is closed on purpose.
  client.on('reconnecting', () => {
    if (lostAt !== null) return;
    lostAt = Date.now();
    logger?.warn({ redisClient: role }, 'redis connection lost; reconnecting');
  });
  client.on('ready', () => {
    if (lostAt === null) return;
    logger?.info({ redisClient: role, downMs: Date.now() - lostAt }, 'redis connection restored');
    lostAt = null;
  });
}

/** Closes both clients, waiting for pending replies. */
export async function closeRedisClients(clients: RedisClients): Promise<void> {
  await Promise.allSettled([clients.command.quit(), clients.subscriber.quit()]);
}
