import { EMBEDDED } from '../helpers/app';
import { messagingSuite } from './messaging.suite';

// The same HTTP and WebSocket behaviour in the embedded mode: SQLite, in-process delivery, no server.
messagingSuite('embedded', async () => ({ overrides: EMBEDDED, cleanup: async () => undefined }), []);
