import { closeRedisClients, createRedisClients, type RedisClients } from '../../src/infra/redis';
import { redisGatewayEngine } from '../../src/gateway/engine.redis';
import { describeWith } from '../helpers/servers';
import { isolation } from '../helpers/app';
import { gatewayEngineContract } from './engine.contract';

const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379/0';

describeWith('redis')('Redis gateway engine', () => {
  gatewayEngineContract('redis', async () => {
    const { prefix } = isolation();
    const clients: RedisClients[] = [];
    return {
      // Each instance has clients of its own, as separate processes would.
      instance: async () => {
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
  });
});
