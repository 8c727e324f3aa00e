import { messagingSuite } from './messaging.suite';

messagingSuite('MySQL store', async () => ({ overrides: {}, cleanup: async () => undefined }));
