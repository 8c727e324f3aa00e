import { EMBEDDED } from '../helpers/app';
import { groupsSuite } from './groups.suite';

// The same rules in the embedded mode: SQLite, in-process delivery, no server.
groupsSuite('embedded', EMBEDDED, []);
