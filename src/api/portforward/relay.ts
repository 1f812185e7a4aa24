// Relaying one forwarded connection: the client's stream and the TCP
// connection to the workload, each direction piped with backpressure, a
// half-close passed on as one (the client's FIN ends the writes to the
// workload, whose answer still comes back).
import type { Duplex } from 'node:stream';

/**
 * Pipe client <-> workload. Resolves when the workload has finished sending
 * (its FIN passed on to the client), the client went away, or the workload
 * failed: then with that error, which is the client's to hear. The workload
 * connection is torn down when the client stream closes.
 */
export function relay(client: Duplex, workload: Duplex): Promise<{ error?: Error }> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (error?: Error): void => {
      if (settled) return;
      settled = true;
      resolve({ error });
    };
    client.pipe(workload);
    workload.pipe(client);
    workload.once('end', () => settle());
    workload.on('error', (e: Error) => {
      settle(e);
      client.end();
    });
    // A client that resets or vanishes has nobody left to tell.
    client.on('error', () => {
      settle();
      workload.destroy();
    });
    client.once('close', () => {
      settle();
      // Its last bytes may still be on their way to the workload: let them go first.
      if (workload.writableEnded && !workload.writableFinished && !workload.destroyed) workload.once('finish', () => workload.destroy());
      else workload.destroy();
    });
  });
}
