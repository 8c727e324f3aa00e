/** Users and routed control messages above this many are not remembered one by one. */
export const BACKLOG_LIMIT = 10_000;

/**
 * What an instance owes other instances after Redis failed to carry it: the users whose events may not
 * have reached their connections elsewhere (they get a `resync` once Redis answers again; past the limit,
 * every connection on every instance does), and control messages (revocations) to route again.
 */
export class DeliveryBacklog<C> {
  private users = new Set<string>();
  private everyone = false;
  private controls: C[] = [];
  private droppedControls = 0;

  constructor(private readonly limit = BACKLOG_LIMIT) {}

  /** Whether anything is owed. */
  get empty(): boolean {
    return !this.everyone && this.users.size === 0 && this.controls.length === 0;
  }

  /** Remembers users who may have missed an event. */
  missed(userIds: readonly string[]): void {
    if (this.everyone) return;
    for (const id of userIds) this.users.add(id);
    if (this.users.size > this.limit) {
      this.everyone = true;
      this.users.clear();
    }
  }

  /** Remembers that every connection anywhere may have missed an event. */
  missedByEveryone(): void {
    this.everyone = true;
    this.users.clear();
  }

  /** Remembers a control message to route again; past the limit the oldest are dropped (and counted). */
  control(message: C): void {
    this.controls.push(message);
    if (this.controls.length > this.limit) {
      this.controls.shift();
      this.droppedControls++;
    }
  }

  /** Takes everything owed (the caller gives back what it could not send). */
  take(): { everyone: boolean; users: string[]; controls: C[]; droppedControls: number } {
    const out = {
      everyone: this.everyone,
      users: [...this.users],
      controls: this.controls,
      droppedControls: this.droppedControls,
    };
    this.users = new Set();
    this.everyone = false;
    this.controls = [];
    this.droppedControls = 0;
    return out;
  }
}
