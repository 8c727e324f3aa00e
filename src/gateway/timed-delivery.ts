import type { Histogram } from 'prom-client';
import type { Broadcast, BroadcastOptions, DeliverOptions, Delivery, ServerEvent } from './gateway.types';

/** Records the time from a `message` event's `createdAt` (taken when it was stored) until now. */
function observe(histogram: Histogram, event: ServerEvent): void {
  if (event.type !== 'message') return;
  const createdAt = Date.parse((event.data as { createdAt?: string } | null)?.createdAt ?? '');
  if (Number.isFinite(createdAt)) histogram.observe(Math.max(0, Date.now() - createdAt) / 1000);
}

/**
 * A Delivery that records, for each `message` event, the time from the message's `createdAt` until its push
 * was written to this instance's connections and published to the others.
 */
export function timedDelivery(inner: Delivery, histogram: Histogram): Delivery {
  return {
    async deliver(userIds: readonly string[], event: ServerEvent, options?: DeliverOptions): Promise<void> {
      await inner.deliver(userIds, event, options);
      observe(histogram, event);
    },
  };
}

/** The same for broadcasts (the world channel): until the broadcast was published to every instance. */
export function timedBroadcast(inner: Broadcast, histogram: Histogram): Broadcast {
  return {
    async broadcast(event: ServerEvent, options?: BroadcastOptions): Promise<void> {
      await inner.broadcast(event, options);
      observe(histogram, event);
    },
    optOutChanged: (userId, optedOut) => inner.optOutChanged(userId, optedOut),
  };
}
