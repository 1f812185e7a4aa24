// Connecting to a QMP unix socket that may not exist yet: QEMU creates it a
// little after it starts (HOST-NOTES), and a socket file left by a QEMU that
// died refuses connections until it is replaced. Both are retried until the
// deadline rather than failing the first try.
import { connect, type Socket } from 'node:net';
import { QmpConnectError } from './errors.js';

const RETRYABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EAGAIN']);

function tryConnect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    const onError = (e: Error): void => {
      sock.destroy();
      reject(e);
    };
    sock.once('error', onError);
    sock.once('connect', () => {
      sock.off('error', onError);
      resolve(sock);
    });
  });
}

/** A connected socket, retrying while the socket is absent or refusing, until timeoutMs. */
export async function connectUnix(path: string, timeoutMs: number): Promise<Socket> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      return await tryConnect(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? '';
      if (!RETRYABLE.has(code)) throw new QmpConnectError(path, (e as Error).message);
      if (Date.now() + delay > deadline) throw new QmpConnectError(path, `${code} for ${timeoutMs} ms (is QEMU running?)`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
