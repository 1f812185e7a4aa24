// A first-come-first-served readers/writer lock. Imports share it; garbage
// collection takes it alone, so it never deletes a blob or layer that an
// import in flight has written but not yet named in an image record.
type Waiter = { exclusive: boolean; go: () => void };

export class RwLock {
  #readers = 0;
  #writer = false;
  readonly #queue: Waiter[] = [];

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    await this.#acquire(false);
    try {
      return await fn();
    } finally {
      this.#readers--;
      this.#pump();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await this.#acquire(true);
    try {
      return await fn();
    } finally {
      this.#writer = false;
      this.#pump();
    }
  }

  #acquire(exclusive: boolean): Promise<void> {
    return new Promise((go) => {
      this.#queue.push({ exclusive, go });
      this.#pump();
    });
  }

  // Strict queue order: a reader behind a waiting writer waits too, so a
  // stream of imports cannot starve a removal.
  #pump(): void {
    for (let next = this.#queue[0]; next; next = this.#queue[0]) {
      if (next.exclusive) {
        if (this.#writer || this.#readers > 0) return;
        this.#writer = true;
      } else {
        if (this.#writer) return;
        this.#readers++;
      }
      this.#queue.shift();
      next.go();
    }
  }
}
