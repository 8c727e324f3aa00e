import { memoryBackend } from './engine-backends';
import { gatewayEngineContract } from './engine.contract';

gatewayEngineContract('memory', async () => {
  const backend = await memoryBackend();
  return { instance: () => backend.engine(), close: () => backend.close() };
});
