import { memoryGatewayEngine, MemoryHub } from '../../src/gateway/engine.memory';
import { gatewayEngineContract } from './engine.contract';

gatewayEngineContract('memory', async () => {
  const hub = new MemoryHub();
  return { instance: async () => memoryGatewayEngine(hub), close: async () => undefined };
});
