/** An engine under test and how time passes for it. */
export interface EngineHandle<T> {
  engine: T;
  /** Lets `ms` pass for the engine: moves its clock on, or waits when it runs on real time (Redis). */
  elapse(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** Waits `ms` of real time. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A clock that moves only when told. */
export class ManualClock {
  constructor(public ms = Date.UTC(2024, 0, 1)) {}

  readonly now = (): number => this.ms;

  async elapse(ms: number): Promise<void> {
    this.ms += ms;
  }
}

let counter = 0;
/** A key no other test uses. */
export function uniqueKey(what: string): string {
  return `t:${what}:${process.pid}:${++counter}:${Math.random().toString(36).slice(2, 8)}`;
}
