import { useState } from 'preact/hooks';
import { messageOf } from './auth';

/**
 * A panel's status line and the runner of its buttons: `act` runs a call, shows `what` (or the error) and
 * then runs `after` (a reload). With `clearFirst` the old status is hidden while the call runs.
 */
export function useAction(after: () => Promise<void>, clearFirst = true) {
  const [status, setStatus] = useState<string | null>(null);
  const act = async (what: string, call: () => Promise<unknown>) => {
    if (clearFirst) setStatus(null);
    try {
      await call();
      setStatus(what);
      await after();
    } catch (err) {
      setStatus(messageOf(err));
    }
  };
  return { status, setStatus, act };
}

/** A panel's status line, announced to screen readers. */
export function Status({ text }: { text: string | null }) {
  return text ? (
    <p role="status" class="status">
      {text}
    </p>
  ) : null;
}
