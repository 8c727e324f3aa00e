import { closeMongoConnection, createMongoConnection } from '../../src/infra/mongo';
import { MongoMessageStore } from '../../src/modules/messages/messages.store.mongo';
import { startJongodb } from '../helpers/jongodb';
import { messageStoreContract } from './store.contract';

messageStoreContract('MongoDB (jongodb)', async () => {
  const server = await startJongodb();
  const conn = await createMongoConnection(server.uri);
  const store = new MongoMessageStore(conn);
  await store.init();
  return {
    store,
    second: async () => {
      const other = await createMongoConnection(server.uri);
      return { store: new MongoMessageStore(other), close: () => closeMongoConnection(other) };
    },
    close: async () => {
      await closeMongoConnection(conn);
      await server.stop();
    },
  };
});
