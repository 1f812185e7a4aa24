// The CRI log format conmon writes (k8s-file): one record per line,
// `TIME STREAM TAG MSG`, TAG "P" for a partial line continued by the next
// record of the same stream and "F" for the end of a line.

export interface LogLine {
  /** The time of the line's first record, as written (RFC3339Nano with an offset). */
  time: string;
  stream: string;
  message: string;
}

// s: a message may hold a \r (a terminal's line end), which `.` alone does not match.
const RECORD = /^(\S+) (\S+) (\S+)(?: (.*))?$/s;

/** Turns chunks of a CRI log file into whole lines; keeps an incomplete record for the next chunk. */
export class CriParser {
  private rest = Buffer.alloc(0);
  private readonly partial = new Map<string, { time: string; parts: string[] }>();

  push(chunk: Buffer): LogLine[] {
    const buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const out: LogLine[] = [];
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
      const line = this.record(buf.subarray(start, nl).toString('utf8'));
      if (line) out.push(line);
      start = nl + 1;
    }
    this.rest = Buffer.from(buf.subarray(start));
    return out;
  }

  /** Partial lines still open at the end of a file, as lines. */
  flush(): LogLine[] {
    const out = [...this.partial.entries()].map(([stream, p]) => ({ time: p.time, stream, message: p.parts.join('') }));
    this.partial.clear();
    this.rest = Buffer.alloc(0);
    return out;
  }

  private record(text: string): LogLine | undefined {
    const m = RECORD.exec(text);
    if (!m) return undefined;
    const [, time, stream, tag, message = ''] = m;
    const pending = this.partial.get(stream);
    if (tag.split(':')[0] === 'P') {
      if (pending) pending.parts.push(message);
      else this.partial.set(stream, { time, parts: [message] });
      return undefined;
    }
    if (pending) {
      this.partial.delete(stream);
      return { time: pending.time, stream, message: pending.parts.join('') + message };
    }
    return { time, stream, message };
  }
}

/** A CRI time (any offset, up to nanoseconds) as Kubernetes prints it: RFC3339Nano in UTC. */
export function rfc3339NanoUtc(time: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)$/.exec(time);
  if (!m) return time;
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (m[3] === 'Z' || /^[+-]00:?00$/.test(m[3])) return `${m[1]}${frac ? `.${frac}` : ''}Z`;
  const utc = new Date(`${m[1]}${m[3]}`).toISOString().slice(0, 19);
  return `${utc}${frac ? `.${frac}` : ''}Z`;
}

/** Milliseconds since the epoch of a CRI time, NaN when unparsable. */
export function criTimeMs(time: string): number {
  return Date.parse(time.replace(/(\.\d{3})\d+/, '$1'));
}
