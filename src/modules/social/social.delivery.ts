import type { Delivery, ServerEvent } from '../../gateway/gateway.types';

/** Delivers without letting a push failure undo a change that is already stored. */
export async function pushSafely(
  delivery: Delivery,
  userIds: readonly string[],
  event: ServerEvent,
  onError: (err: unknown) => void,
): Promise<void> {
  const targets = [...new Set(userIds)];
  if (!targets.length) return;
  try {
    await delivery.deliver(targets, event);
  } catch (err) {
    onError(err);
  }
}
