import type { GatewayEngine } from '../../src/gateway/engine';
import { memoryGatewayEngine, MemoryHub } from '../../src/gateway/engine.memory';
import { redisGatewayEngine } from '../../src/gateway/engine.redis';
import { closeRedisClients, createRedisClients, type RedisClients } from '../../src/infra/redis';
import { isolation } from '../helpers/app';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';

/** One backend that several gateway engines (instances) share, and how to drop it. */
export interface GatewayBackend {
  /** A new instance's engine on this backend. */
  engine(): Promise<GatewayEngine>;
  close(): Promise<void>;
}

/** In-process instances sharing one hub. */
export async function memoryBackend(): Promise<GatewayBackend> {
  const hub = new MemoryHub();
  return { engine: async () => memoryGatewayEngine(hub), close: async () => undefined };
}

/** Instances on the shared Redis under a prefix of their own, each with clients of its own as separate processes would; closing removes every key under the prefix. */
export async function redisBackend(): Promise<GatewayBackend> {
  const { prefix } = isolation();
  const clients: RedisClients[] = [];
  return {
    engine: async () => {
      const redis = await createRedisClients(REDIS_URL, prefix);
      clients.push(redis);
      return redisGatewayEngine(redis);
    },
    close: async () => {
      const keys = await clients[0]?.command.keys(`${prefix}*`);
      if (keys?.length) await clients[0].command.del(...keys);
      await Promise.all(clients.map((c) => closeRedisClients(c)));
    },
  };
}
