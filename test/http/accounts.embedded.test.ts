import { EMBEDDED } from '../helpers/app';
import { accountsSuite } from './accounts.suite';

// The same rules in the embedded mode: SQLite, in-process delivery, no server.
accountsSuite('embedded', EMBEDDED, []);
