import { Coalescer } from '../shared/coalesce';

/** Which of these users opted out of broadcasts (muted the world channel); one read however many users. */
export type OptOutSource = (userIds: string[]) => Promise<Set<string>>;

/**
 * Which users connected to this instance opted out of broadcasts. A user's choice is read when their first
 * connection here opens and read again on every change notice, so the memory and the reads grow with the
 * users connected here, never with the registered ones. Until the first read answers the user counts as in
 * (an extra push is better than a lost one).
 */
export class LocalOptOuts {
  private readonly optedOut = new Set<string>();
  /** The latest read asked for each user here; a read that is not the latest one for its user is dropped. */
  private readonly pending = new Map<string, number>();
  private readonly reads: Coalescer<string, boolean>;
  private counter = 0;

  constructor(
    source: OptOutSource,
    private readonly onError: (err: unknown, userId: string) => void,
  ) {
    this.reads = new Coalescer(async (ids) => {
      const out = await source(ids);
      return new Map(ids.map((id) => [id, out.has(id)]));
    });
  }

  /** Whether a broadcast skips this user. */
  has(userId: string): boolean {
    return this.optedOut.has(userId);
  }

  /** Reads the user's choice (again): their first connection here opened, or they changed it. */
  refresh(userId: string): void {
    const ticket = ++this.counter;
    this.pending.set(userId, ticket);
    this.reads.get(userId).then(
      (optedOut) => {
        if (this.pending.get(userId) !== ticket) return;
        if (optedOut) this.optedOut.add(userId);
        else this.optedOut.delete(userId);
      },
      (err: unknown) => {
        if (this.pending.get(userId) === ticket) this.onError(err, userId);
      },
    );
  }

  /**
   * Applies a change notice at once (a broadcast right after it must already see it), then reads the stored
   * choice again, so that notices crossing each other still end on what is stored.
   */
  changed(userId: string, optedOut: boolean): void {
    if (!this.pending.has(userId)) return;
    if (optedOut) this.optedOut.add(userId);
    else this.optedOut.delete(userId);
    this.refresh(userId);
  }

  /** The user's last connection here closed. */
  forget(userId: string): void {
    this.pending.delete(userId);
    this.optedOut.delete(userId);
  }
}
