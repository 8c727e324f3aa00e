import type { EventBus } from '../shared/events';
import type { AccountsEvents } from '../modules/accounts/accounts.events';
import type { FriendsEvents } from '../modules/friends/friends.events';
import type { GroupsEvents } from '../modules/groups/groups.events';
import type { MessagesEvents } from '../modules/messages/messages.events';

/** Every domain event of the instance: the modules' event maps joined (docs/events.md lists them). */
export type DomainEvents = AccountsEvents & FriendsEvents & GroupsEvents & MessagesEvents;

/** The instance's bus. */
export type DomainEventBus = EventBus<DomainEvents>;
