import { startJongodb } from '../helpers/jongodb';
import { uploadAccessSuite } from './access.suite';

uploadAccessSuite('MongoDB message store', async () => {
  const server = await startJongodb();
  return { overrides: { mongodb: { uri: server.uri } }, cleanup: () => server.stop() };
});
