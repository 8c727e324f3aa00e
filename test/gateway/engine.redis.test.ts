import { describeWith } from '../helpers/servers';
import { redisBackend } from './engine-backends';
import { gatewayEngineContract } from './engine.contract';

describeWith('redis')('Redis gateway engine', () => {
  gatewayEngineContract('redis', async () => {
    const backend = await redisBackend();
    return { instance: () => backend.engine(), close: () => backend.close() };
  });
});
