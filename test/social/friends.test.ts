import { friendsSuite } from './friends.suite';

friendsSuite('MySQL and Redis', {}, ['mysql', 'redis']);
