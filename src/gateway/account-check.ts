import type { Logger } from '../shared/logger';
import type { LocalConnections } from './connections';

/** Which of these users' accounts are no longer active (disabled, deleted or gone). */
export type InactiveAmong = (userIds: string[]) => Promise<Set<string>>;

/**
 * Closes the connections of accounts whose status was changed without the service (by SQL): one read of
 * the local users' statuses per 1000 users, every `intervalSeconds`.
 */
export class AccountCheck {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;

  constructor(
    private readonly deps: {
      inactiveAmong: InactiveAmong;
      connections: LocalConnections;
      intervalSeconds: number;
      logger: Logger;
    },
  ) {}

  /** Starts checking every interval. */
  start(): void {
    this.timer = setInterval(() => void this.run(), this.deps.intervalSeconds * 1000);
    this.timer.unref();
  }

  /** Stops checking (a check under way closes nothing more once it answers). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
  }

  private async run(): Promise<void> {
    const { connections, logger } = this.deps;
    if (this.running || this.stopped || connections.userCount === 0) return;
    this.running = true;
    try {
      const ids = connections.userIds();
      for (let start = 0; start < ids.length; start += 1000) {
        const inactive = await this.deps.inactiveAmong(ids.slice(start, start + 1000));
        for (const userId of inactive) {
          logger.info({ userId }, 'account no longer active; closing its connections');
          connections.closeInactive(userId);
        }
      }
    } catch (err) {
      logger.warn({ err }, 'account status check failed; will retry');
    } finally {
      this.running = false;
    }
  }
}
