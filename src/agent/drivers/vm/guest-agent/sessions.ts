// One guest agent connection per VM, shared by the execs running in it.
// QEMU serves a chardev socket to one client at a time, so a second
// connection would sit unheard in the backlog until the first one closes:
// concurrent execs in one VM must share a connection (its commands go one at
// a time, which QGA needs anyway). The connection closes when the last exec
// using it ends, so nothing is held open for VMs nobody execs in.
import { GuestAgentClient, type GuestAgentConnectOptions } from './client.js';

export interface GuestAgentLease {
  client: GuestAgentClient;
  /** Give the connection back; the last user closes it. Idempotent. */
  release(): void;
}

interface Entry {
  client: Promise<GuestAgentClient>;
  users: number;
}

export class GuestAgentSessions {
  private readonly entries = new Map<string, Entry>();

  async acquire(socketPath: string, opts: GuestAgentConnectOptions): Promise<GuestAgentLease> {
    let entry = this.entries.get(socketPath);
    // A connection that broke (QEMU restarted, a command timed out) is not reused.
    if (entry && (await entry.client.then((c) => c.closed, () => true))) {
      if (this.entries.get(socketPath) === entry) this.entries.delete(socketPath);
      entry = undefined;
    }
    entry ??= this.entries.get(socketPath);
    if (!entry) {
      const client = GuestAgentClient.connect(socketPath, opts);
      const made: Entry = { client, users: 0 };
      entry = made;
      this.entries.set(socketPath, made);
      client.catch(() => {
        if (this.entries.get(socketPath) === made) this.entries.delete(socketPath);
      });
    }
    const e = entry;
    e.users++;
    let client: GuestAgentClient;
    try {
      client = await e.client;
    } catch (err) {
      e.users--;
      throw err;
    }
    let released = false;
    return {
      client,
      release: () => {
        if (released) return;
        released = true;
        if (--e.users > 0) return;
        if (this.entries.get(socketPath) === e) this.entries.delete(socketPath);
        client.close();
      },
    };
  }

  /** Close every connection (the driver is going away). */
  closeAll(): void {
    for (const e of this.entries.values()) void e.client.then((c) => c.close(), () => undefined);
    this.entries.clear();
  }
}
