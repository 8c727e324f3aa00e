import { groupsSuite } from './groups.suite';

groupsSuite('MySQL and Redis', {}, ['mysql', 'redis']);
