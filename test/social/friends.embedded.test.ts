import { EMBEDDED } from '../helpers/app';
import { friendsSuite } from './friends.suite';

// The same rules in the embedded mode: SQLite, in-process delivery, no server.
friendsSuite('embedded', EMBEDDED, []);
