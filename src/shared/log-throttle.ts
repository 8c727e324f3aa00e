import type { Logger } from './logger';

/**
 * Logs a recurring warning at most once per `intervalMs` per key: the first occurrence at once, later ones
 * folded into the next line as `suppressed` (how many were left out since the last line). An outage that
 * fails thousands of requests so writes a few lines, not thousands.
 */
export class LogThrottle {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 5000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Writes `msg` as a warning unless the same key was written within the interval; returns whether it was. */
  warn(key: string, fields: Record<string, unknown>, msg: string): boolean {
    const now = this.now();
    const seen = this.last.get(key);
    if (seen && now - seen.at < this.intervalMs) {
      seen.suppressed++;
      return false;
    }
    const suppressed = seen?.suppressed ?? 0;
    this.last.set(key, { at: now, suppressed: 0 });
    this.logger.warn(suppressed ? { ...fields, suppressed } : fields, msg);
    return true;
  }

  /**
   * Warns that a request failed because a dependency was out of reach (a 503 error): the summary of its
   * cause instead of a stack, one line per cause per interval.
   */
  outage(err: { cause?: unknown }, fields: Record<string, unknown>, msg: string): boolean {
    const cause = errorSummary(err.cause ?? err);
    return this.warn(`503:${cause.code ?? cause.message}`, { ...fields, cause }, msg);
  }
}

/** The short description of a driver error that a warning carries instead of a stack. */
export function errorSummary(err: unknown): { code?: string; message: string } {
  const e = err as { code?: unknown; message?: unknown; name?: unknown } | null;
  const message = typeof e?.message === 'string' && e.message ? e.message : String(err);
  const code = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : undefined;
  return code ? { code, message } : { message };
}
