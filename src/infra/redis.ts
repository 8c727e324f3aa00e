import { Redis } from 'ioredis';

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

/** Connects both clients and waits until they answer. */
export async function createRedisClients(url: string, prefix: string): Promise<RedisClients> {
  const opts = { lazyConnect: true, maxRetriesPerRequest: 3, enableAutoPipelining: true };
  const command = new Redis(url, opts);
  const subscriber = new Redis(url, { ...opts, enableAutoPipelining: false });
  await Promise.all([command.connect(), subscriber.connect()]);
  return { command, subscriber, keys: new RedisKeys(prefix) };
}

/** Closes both clients, waiting for pending replies. */
export async function closeRedisClients(clients: RedisClients): Promise<void> {
  await Promise.allSettled([clients.command.quit(), clients.subscriber.quit()]);
}
