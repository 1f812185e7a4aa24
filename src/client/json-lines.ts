// A watch response is one JSON object per line, but the network delivers
// arbitrary chunks: a line may span chunks and a chunk may end inside a
// multi-byte UTF-8 character. Decode as a stream and emit whole lines only.

/** Parse newline-delimited JSON from a byte (or string) stream. */
export async function* parseJsonLines(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder('utf-8');
  let pending = '';
  for await (const chunk of chunks) {
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    // Walk the lines by position and cut the rest off once: a chunk may hold hundreds of events.
    let from = 0;
    let nl: number;
    while ((nl = pending.indexOf('\n', from)) >= 0) {
      const line = pending.slice(from, nl).trim();
      from = nl + 1;
      if (line) yield parseLine(line);
    }
    if (from > 0) pending = pending.slice(from);
  }
  pending += decoder.decode();
  // A server that closes without a final newline still sent a whole object.
  const last = pending.trim();
  if (last) yield parseLine(last);
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (err) {
    throw new Error(`watch stream: malformed JSON line (${(err as Error).message}): ${line.slice(0, 200)}`, { cause: err });
  }
}
