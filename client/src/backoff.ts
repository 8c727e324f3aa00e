export interface BackoffOptions {
  /** First delay cap in ms (default 500). */
  initialMs?: number;
  /** Largest delay cap in ms (default 30000). */
  maxMs?: number;
  /** Random source in [0, 1) (tests may fix it). */
  random?: () => number;
}

/** Exponential backoff with full jitter: attempt n waits a random time in [0, min(max, initial·2ⁿ)). */
export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 500;
    this.maxMs = options.maxMs ?? 30_000;
    this.random = options.random ?? Math.random;
  }

  /** The delay before the next attempt; each call widens the window. */
  next(): number {
    const cap = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt += 1;
    return Math.floor(this.random() * cap);
  }

  /** A short jittered delay for a retry expected to succeed at once (close 1001). */
  quick(): number {
    return Math.floor(this.random() * Math.min(this.initialMs, 500));
  }

  /** Starts over (after a connection got ready). */
  reset(): void {
    this.attempt = 0;
  }
}
