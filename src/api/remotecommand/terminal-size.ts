// Terminal sizes as clients send them: {"Width": cols, "Height": rows}. Over
// WebSocket each message holds one; on a SPDY resize stream they follow each
// other as Go's json.Encoder writes them, one per line, and a line may arrive
// in pieces.
export interface TerminalSize {
  width: number;
  height: number;
}

/** One size from its JSON; undefined when it is not one. */
export function parseTerminalSize(text: string): TerminalSize | undefined {
  try {
    const v = JSON.parse(text) as { Width?: unknown; Height?: unknown } | null;
    if (v && typeof v.Width === 'number' && typeof v.Height === 'number') return { width: v.Width, height: v.Height };
  } catch {
    // not JSON: the caller says what it ignores
  }
  return undefined;
}

/** Cuts a stream of newline-separated sizes into sizes; what cannot be read goes to onBad. */
export class TerminalSizeDecoder {
  private pending = '';
  /** The current line was too long and dropped: skip the rest of it, up to its newline. */
  private skipping = false;

  constructor(
    private readonly onSize: (s: TerminalSize) => void,
    private readonly onBad: (text: string) => void,
  ) {}

  push(chunk: Buffer): void {
    this.pending += chunk.toString('utf8');
    if (this.skipping) {
      const nl = this.pending.indexOf('\n');
      this.pending = nl < 0 ? '' : this.pending.slice(nl + 1);
      if (nl < 0) return;
      this.skipping = false;
    }
    // A client that never sends a newline must not grow this without bound: no size is this long.
    if (this.pending.length > 4096 && !this.pending.includes('\n')) {
      this.onBad(this.pending.slice(0, 100));
      this.pending = '';
      this.skipping = true;
      return;
    }
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, nl).trim();
      this.pending = this.pending.slice(nl + 1);
      if (!line) continue;
      const size = parseTerminalSize(line);
      if (size) this.onSize(size);
      else this.onBad(line.slice(0, 100));
    }
  }

  /** The stream ended: a last size without its newline still counts. */
  end(): void {
    const rest = this.skipping ? '' : this.pending.trim();
    this.pending = '';
    this.skipping = false;
    if (rest) this.push(Buffer.from(`${rest}\n`));
  }
}
