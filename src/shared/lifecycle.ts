import type { Logger } from './logger';

type Step = { name: string; run: () => Promise<void> | void };

/**
 * Ordered shutdown: each phase's steps run concurrently, phases one after the other
 * (stop accepting → close sockets → drain HTTP → close clients → flush logs).
 */
export class Lifecycle {
  private readonly phases = new Map<number, Step[]>();
  private stopping: Promise<void> | null = null;

  constructor(private readonly logger: Logger) {}

  /** Registers a shutdown step in a phase (lower phases run first). */
  onStop(phase: number, name: string, run: Step['run']): void {
    const list = this.phases.get(phase) ?? [];
    list.push({ name, run });
    this.phases.set(phase, list);
  }

  /** Runs every step once; later calls wait for the first. */
  stop(): Promise<void> {
    this.stopping ??= this.runAll();
    return this.stopping;
  }

  private async runAll(): Promise<void> {
    for (const phase of [...this.phases.keys()].sort((a, b) => a - b)) {
      await Promise.all(
        this.phases.get(phase)!.map(async (step) => {
          try {
            await step.run();
          } catch (err) {
            this.logger.warn({ err, step: step.name }, 'shutdown step failed');
          }
        }),
      );
    }
  }
}

/** Shutdown phases. */
export const Phase = {
  StopAccepting: 10,
  CloseSockets: 20,
  DrainHttp: 30,
  CloseClients: 40,
  FlushLogs: 50,
} as const;
