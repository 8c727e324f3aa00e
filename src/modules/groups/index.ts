/** What other modules may use of groups; they import this file, never the files behind it. */
export type { GroupRole, GroupSnapshot } from './groups.ports';
