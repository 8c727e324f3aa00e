import { uploadAccessSuite } from './access.suite';

uploadAccessSuite('MySQL message store', async () => ({ overrides: {}, cleanup: async () => {} }));
