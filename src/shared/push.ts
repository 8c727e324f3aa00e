/**
 * The push port the feature modules call to reach users' connections; the gateway implements it (and
 * `gateway.types.ts` re-exports these shapes).
 */

/** A server → client frame. */
export interface ServerEvent<T = unknown> {
  type: string;
  data: T;
}

/** How one delivery is narrowed. */
export interface DeliverOptions {
  /**
   * A connection that must not get the event: the one a client frame came from, when its reply (an `ack`)
   * already carries what the event would.
   */
  exceptConnectionId?: string;
}

/** Reaches users' connections on whichever instance holds them. */
export interface Delivery {
  /** Sends the event to every connection (device) of these users, on any instance. */
  deliver(userIds: readonly string[], event: ServerEvent, options?: DeliverOptions): Promise<void>;
}

/** Delivers without letting a push failure undo a change that is already stored. */
export async function pushSafely(
  delivery: Delivery,
  userIds: readonly string[],
  event: ServerEvent,
  onError: (err: unknown) => void,
  options?: DeliverOptions,
): Promise<void> {
  const targets = [...new Set(userIds)];
  if (!targets.length) return;
  try {
    await delivery.deliver(targets, event, options);
  } catch (err) {
    onError(err);
  }
}
