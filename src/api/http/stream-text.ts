// A text/plain answer streamed from an async source (pods/log, instances/log):
// headers flushed at once so a follower sees them, writes held back while the
// client is slow, and the source told to stop (abort) when the client goes.
import type { ApiResponse } from './respond.js';

export async function streamText(res: ApiResponse, chunks: AsyncIterable<string>, abort: AbortController, contentType = 'text/plain'): Promise<void> {
  const onClose = (): void => abort.abort();
  res.on('close', onClose);
  res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache, private' });
  const flush = (res as { flushHeaders?: () => void }).flushHeaders;
  if (typeof flush === 'function') flush.call(res);
  try {
    for await (const chunk of chunks) {
      if (abort.signal.aborted) break;
      await writeHeld(res, chunk);
    }
  } catch {
    // Headers are sent: all that is left is to end the response.
  } finally {
    res.off('close', onClose);
    abort.abort();
    if (!res.writableEnded) res.end();
  }
}

/** Write a chunk; when the client is slow, wait until it drains (or goes). */
export async function writeHeld(res: ApiResponse, chunk: string | Buffer): Promise<void> {
  if ((res as { write(chunk: string | Buffer): boolean }).write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
