// Reads a tar stream one entry at a time with node-tar's parser. Only the
// parser is used: node-tar's extractor is built for npm packages and rewrites
// what a root filesystem needs kept (it strips the leading / of absolute
// symlink targets, drops links that point above the archive root, forces
// u+rwx on directories), so layer-unpack.ts writes the entries itself.
import { once } from 'node:events';
import { Parser, type ReadEntry } from 'tar';

export type TarEntry = ReadEntry;

/**
 * Yields the entries of the tar stream `input` in order. The consumer reads
 * (or ignores) each entry's body before asking for the next; an unread body
 * is skipped. A damaged archive throws.
 */
export async function* tarEntries(input: AsyncIterable<Uint8Array>): AsyncGenerator<TarEntry> {
  // noResume: bodies wait for the consumer instead of flowing away unread.
  // strict: a bad header or checksum is an error, not a warning.
  const parser = new Parser({ noResume: true, strict: true });
  const ready: TarEntry[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  /** The entry the consumer is reading, if its body has not ended. */
  let current: TarEntry | undefined;
  const signal = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const fail = (e: unknown): void => {
    failure ??= e;
    // A consumer waiting for the rest of a body that will never come (the
    // input broke off) gets the error there.
    if (current && !current.emittedEnd) current.destroy(e instanceof Error ? e : new Error(String(e)));
    signal();
  };
  parser.on('entry', (e: TarEntry) => {
    ready.push(e);
    signal();
  });
  parser.on('error', fail);
  parser.on('end', () => {
    ended = true;
    signal();
  });

  let stopped = false;
  const feeding = (async () => {
    try {
      for await (const chunk of input) {
        if (stopped) return;
        // once() rejects if the parser emits 'error' meanwhile.
        if (!parser.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength))) await once(parser, 'drain');
      }
      parser.end();
    } catch (e) {
      fail(e);
    }
  })();

  try {
    for (;;) {
      if (failure !== undefined) throw failure;
      const entry = ready.shift();
      if (entry) {
        current = entry;
        // fail() may destroy the entry while the consumer is not reading it
        // (setting a directory's owner, say); the error reaches the consumer
        // through `failure` then, not as an unhandled 'error' event.
        entry.on('error', () => undefined);
        yield entry;
        if (failure !== undefined) throw failure;
        if (!entry.emittedEnd) {
          // once() rejects when fail() destroys the entry.
          const done = once(entry, 'end');
          entry.resume();
          await done;
        }
        current = undefined;
        continue;
      }
      if (ended) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    await feeding;
    if (failure !== undefined) throw failure;
  } finally {
    if (!ended) {
      // The consumer stopped early or failed: unblock and end the feeder.
      stopped = true;
      parser.abort(new Error('tar reading stopped'));
      await feeding.catch(() => undefined);
    }
  }
}
