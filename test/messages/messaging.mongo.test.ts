import { startJongodb } from '../helpers/jongodb';
import { messagingSuite } from './messaging.suite';

messagingSuite('MongoDB store', async () => {
  const server = await startJongodb();
  return { overrides: { mongodb: { uri: server.uri } }, cleanup: () => server.stop() };
});
