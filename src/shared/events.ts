import type { Logger } from './logger';

/**
 * An event map: event name → payload. Each feature module declares the events it publishes in its own
 * `<feature>.events.ts` (shared code holds no business types); the composition root joins them into one map.
 */
export type EventMap = { [name: string]: object };

/** Handles one event; a rejection is logged and does not reach the publisher or the other handlers. */
export type EventHandler<P> = (payload: P) => Promise<void> | void;

/** What a service is given to say what happened. */
export interface EventPublisher<M extends EventMap> {
  /** Runs every handler of `name`, one after another in registration order; resolves when all have ended. */
  publish<K extends keyof M & string>(name: K, payload: M[K]): Promise<void>;
}

/** What a subscriber (delivery, caches, federation) is given to listen. */
export interface EventSubscriber<M extends EventMap> {
  /** Adds a handler of `name` after those already registered; `label` names it in the log when it fails. */
  subscribe<K extends keyof M & string>(name: K, handler: EventHandler<M[K]>, label?: string): void;
}

interface Subscription {
  handler: EventHandler<never>;
  label: string;
}

/**
 * The in-process domain event bus. Handlers run in registration order and each is awaited before the next,
 * so a publisher that awaits `publish` knows every consequence has run (a message is pushed before its `ack`
 * goes out) and the order of one publisher's events is kept. A failing handler is logged and skipped: the
 * change the event reports is already stored and must not be undone by a push or a cache.
 */
export class EventBus<M extends EventMap> implements EventPublisher<M>, EventSubscriber<M> {
  private readonly handlers = new Map<string, Subscription[]>();

  constructor(private readonly logger: Logger) {}

  /** Adds a handler of `name` after those already registered. */
  subscribe<K extends keyof M & string>(name: K, handler: EventHandler<M[K]>, label = 'handler'): void {
    const list = this.handlers.get(name);
    const entry: Subscription = { handler: handler as EventHandler<never>, label };
    if (list) list.push(entry);
    else this.handlers.set(name, [entry]);
  }

  /** Runs the handlers of `name` in order; failures are logged, never thrown. */
  async publish<K extends keyof M & string>(name: K, payload: M[K]): Promise<void> {
    const list = this.handlers.get(name);
    if (!list) return;
    // Indexed, not iterated: no iterator per event on the hot path (every stored message publishes once).
    for (let i = 0; i < list.length; i++) {
      const { handler, label } = list[i];
      try {
        await (handler as EventHandler<M[K]>)(payload);
      } catch (err) {
        this.logger.error({ err, event: name, handler: label }, 'event handler failed');
      }
    }
  }

  /** How many handlers `name` has (for diagnostics and tests). */
  handlerCount(name: keyof M & string): number {
    return this.handlers.get(name)?.length ?? 0;
  }
}
