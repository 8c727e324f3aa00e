import type { Logger } from '../shared/logger';
import type { ConnectionRegistry } from './engine';
import type { Delivery, PresenceAudience, ServerEvent } from './gateway.types';

/** A presence a user chose (the accounts module stores it). */
export type PresenceChoice = 'online' | 'away' | 'busy' | 'invisible';

/** The `presence` event's data. */
export interface PresenceEventData {
  userId: string;
  online: boolean;
  presence: PresenceChoice | 'offline';
}

/** Reads users' chosen presence (online, away, busy, invisible). */
export type PresenceChoices = (userIds: string[]) => Promise<Map<string, PresenceChoice>>;

export interface PresenceDeps {
  /** Who is connected on a live instance. */
  registry: Pick<ConnectionRegistry, 'online'>;
  delivery: Delivery;
  choices: PresenceChoices;
  /** Who hears about a user's presence changes: their friends (backed by the friends store). */
  audience: PresenceAudience;
  logger: Logger;
}

/**
 * Online = a connection on a live instance (exact within the lease TTL). Change events go to the
 * audience the friends module supplies; invisible users never appear online to it.
 */
export class PresenceService {
  private readonly audience: PresenceAudience;

  constructor(private readonly deps: PresenceDeps) {
    this.audience = deps.audience;
  }

  /** The subset of `userIds` connected on any live instance. */
  onlineUserIds(userIds: string[]): Promise<Set<string>> {
    return this.deps.registry.online(userIds);
  }

  /** Announces a changed presence choice of a connected user (switching to invisible reads as going offline). */
  async presenceChosen(userId: string, presence: PresenceChoice): Promise<void> {
    const online = await this.deps.registry.online([userId]);
    if (!online.has(userId)) return;
    await this.announce(
      presence === 'invisible'
        ? { userId, online: false, presence: 'offline' }
        : { userId, online: true, presence },
    );
  }

  /** Called when the user's first connection anywhere opened. */
  cameOnline(userId: string): void {
    this.announceAll([userId], true).catch((err: unknown) =>
      this.deps.logger.warn({ err, userId }, 'presence announcement failed'),
    );
  }

  /** Called when users' last connections anywhere closed (or their instance died). */
  wentOffline(userIds: string[]): void {
    if (userIds.length === 0) return;
    this.announceAll(userIds, false).catch((err: unknown) =>
      this.deps.logger.warn({ err, users: userIds.length }, 'presence announcement failed'),
    );
  }

  /** Same as wentOffline, but waits (used at shutdown while the engine is still open). */
  async wentOfflineNow(userIds: string[]): Promise<void> {
    if (userIds.length === 0) return;
    await this.announceAll(userIds, false);
  }

  private async announceAll(userIds: string[], online: boolean): Promise<void> {
    const choices = await this.deps.choices(userIds);
    for (const userId of userIds) {
      const choice = choices.get(userId);
      if (!choice || choice === 'invisible') continue;
      await this.announce(
        online ? { userId, online: true, presence: choice } : { userId, online: false, presence: 'offline' },
      );
    }
  }

  private async announce(data: PresenceEventData): Promise<void> {
    const to = await this.audience(data.userId);
    if (to.length === 0) return;
    const event: ServerEvent<PresenceEventData> = { type: 'presence', data };
    await this.deps.delivery.deliver(to, event);
  }
}
