// QMP's wire format (docs/interop/qmp-spec.txt): one JSON object per line
// each way. QEMU sends a greeting, then replies ({return|error, id}) and
// asynchronous events ({event, data, timestamp}) interleaved in any order.

export interface QmpGreeting {
  QMP: {
    version: { qemu: { major: number; minor: number; micro: number }; package: string };
    capabilities: string[];
  };
}

export interface QmpEvent {
  event: string;
  data: Record<string, unknown>;
  /** When QEMU emitted it (host clock). */
  timestamp: { seconds: number; microseconds: number };
}

export interface QmpErrorBody {
  class: string;
  desc: string;
}

/** A message from QEMU, classified. */
export type QmpMessage =
  | { kind: 'greeting'; greeting: QmpGreeting }
  | { kind: 'return'; id: unknown; value: unknown }
  | { kind: 'error'; id: unknown; error: QmpErrorBody }
  | { kind: 'event'; event: QmpEvent };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Classify one parsed line; throws on anything QMP does not send (a protocol bug is not to be papered over). */
export function classify(msg: unknown): QmpMessage {
  if (!isObject(msg)) throw new Error(`QMP message is not an object: ${JSON.stringify(msg)}`);
  if (isObject(msg.QMP)) return { kind: 'greeting', greeting: msg as unknown as QmpGreeting };
  if ('return' in msg) return { kind: 'return', id: msg.id, value: msg.return };
  if (isObject(msg.error)) {
    const e = msg.error;
    return { kind: 'error', id: msg.id, error: { class: String(e.class ?? 'GenericError'), desc: String(e.desc ?? '') } };
  }
  if (typeof msg.event === 'string') {
    const ts = isObject(msg.timestamp) ? msg.timestamp : {};
    return {
      kind: 'event',
      event: {
        event: msg.event,
        data: isObject(msg.data) ? msg.data : {},
        timestamp: { seconds: Number(ts.seconds ?? 0), microseconds: Number(ts.microseconds ?? 0) },
      },
    };
  }
  throw new Error(`unrecognised QMP message: ${JSON.stringify(msg)}`);
}

/**
 * Splits a byte stream into lines. Bytes, not strings, are buffered: a
 * multi-byte UTF-8 character may straddle two reads.
 */
export class LineSplitter {
  private pending: Buffer[] = [];

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.pending.push(chunk.subarray(start, nl));
      const line = Buffer.concat(this.pending).toString('utf8').trim();
      this.pending = [];
      if (line) lines.push(line);
      start = nl + 1;
    }
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
    return lines;
  }
}
