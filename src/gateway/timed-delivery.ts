import type { Histogram } from 'prom-client';
import type { DeliverOptions, Delivery, ServerEvent } from './gateway.types';

/**
 * A Delivery that records, for each `message` event, the time from the message's `createdAt` (taken when it
 * was stored) until its push was written to this instance's connections and published to the others.
 */
export function timedDelivery(inner: Delivery, histogram: Histogram): Delivery {
  return {
    async deliver(userIds: readonly string[], event: ServerEvent, options?: DeliverOptions): Promise<void> {
      await inner.deliver(userIds, event, options);
      if (event.type !== 'message') return;
      const createdAt = Date.parse((event.data as { createdAt?: string } | null)?.createdAt ?? '');
      if (Number.isFinite(createdAt)) histogram.observe(Math.max(0, Date.now() - createdAt) / 1000);
    },
  };
}
