/** A small typed event emitter: `on` returns the function that removes the listener. */
export class Emitter<Events extends object> {
  private listeners = new Map<keyof Events, Set<(data: never) => void>>();

  /** Adds a listener; returns its remover. */
  on<K extends keyof Events>(type: K, listener: (data: Events[K]) => void): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener as (data: never) => void);
    return () => this.off(type, listener);
  }

  /** Removes a listener. */
  off<K extends keyof Events>(type: K, listener: (data: Events[K]) => void): void {
    this.listeners.get(type)?.delete(listener as (data: never) => void);
  }

  /** Calls every listener of the type; a listener that throws does not stop the others. */
  protected emit<K extends keyof Events>(type: K, data: Events[K]): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) {
      try {
        (listener as (data: Events[K]) => void)(data);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
