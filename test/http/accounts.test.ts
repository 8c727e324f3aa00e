import { accountsSuite } from './accounts.suite';

accountsSuite('MySQL and Redis', {}, ['mysql', 'redis']);
