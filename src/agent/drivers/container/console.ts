// A system container's console: the terminal conmon holds (conmon -t),
// reached through conmon's attach socket <socketDir>/<cuuid>/attach.
//
// That socket is SOCK_SEQPACKET, and every message conmon sends on it is one
// read of the terminal with the stream's number (2, stdout: a terminal has
// one) as its first byte; what a client writes goes to the terminal as is.
// Node cannot open a SOCK_SEQPACKET socket (net speaks SOCK_STREAM only, and
// dgram only UDP), so one `socat` per session is the bridge. A plain byte
// pipe from socat would lose the message boundaries, and with them which
// bytes are conmon's stream prefix (a 0x02 in the guest's output could not be
// told from one). socat's hex dump (-x) writes each transfer to stderr as a
// header with its length and the bytes in hex: exactly the framing needed,
// so the output is read from there and socat's stdout goes to /dev/null.
//
// The size of the terminal is set through conmon's `ctl` FIFO in the bundle
// ("1 ROWS COLS\n"), which needs no session at all. The session itself is
// attach.ts's: a console is an attach with a terminal and input, as a stream.
import { open } from 'node:fs/promises';
import { constants } from 'node:fs';

/** conmon's stream numbers on the attach socket (conmon's STDOUT_PIPE, STDERR_PIPE). */
const ATTACH_STDOUT = 2;
export const ATTACH_STDERR = 3;
/** conmon reads the terminal 8 KiB at a time; a larger buffer takes every message whole. */
export const SOCAT_BUFFER = 65536;

/** "< 2026/01/01 00:00:00.000000000  length=6 from=0 to=5": one transfer from the socket (the right-hand address). */
const HEADER = /^([<>]) \S+ \S+\s+length=(\d+) from=\d+ to=\d+\s*$/;
const HEX_LINE = /^(?: [0-9a-f]{2})+\s*$/;
/** socat's own log lines at notice level (-d -d): "DATE TIME socat[PID] N starting data transfer loop ...". */
export const READY = /socat\[\d+\] N starting data transfer loop/;
export const SOCAT_ERROR = /socat\[\d+\] [EF] (.*)$/;

/** Turns socat's -x dump into the payloads of the messages the socket sent. */
export class HexDumpReader {
  private line = '';
  /** Bytes still expected for the current transfer, and whether it came from the socket. */
  private want = 0;
  private fromSocket = false;
  private message: number[] = [];

  constructor(
    /** stream: conmon's number for it (2 stdout, 3 stderr). */
    private readonly onMessage: (data: Buffer, stream: number) => void,
    private readonly onLog: (line: string) => void,
  ) {}

  push(text: string): void {
    this.line += text;
    for (let nl = this.line.indexOf('\n'); nl >= 0; nl = this.line.indexOf('\n')) {
      const l = this.line.slice(0, nl);
      this.line = this.line.slice(nl + 1);
      this.take(l);
    }
  }

  private take(l: string): void {
    if (this.want > 0 && HEX_LINE.test(l)) {
      for (const h of l.trim().split(/\s+/)) this.message.push(parseInt(h, 16));
      if (this.message.length >= this.want) this.finish();
      return;
    }
    const m = HEADER.exec(l);
    if (m) {
      this.want = Number(m[2]);
      this.fromSocket = m[1] === '<';
      this.message = [];
      if (this.want === 0) this.finish();
      return;
    }
    this.onLog(l);
  }

  private finish(): void {
    const msg = Buffer.from(this.message);
    this.want = 0;
    this.message = [];
    if (!this.fromSocket || !msg.length) return;
    if (msg[0] === ATTACH_STDOUT || msg[0] === ATTACH_STDERR) this.onMessage(msg.subarray(1), msg[0]);
  }
}

/** Resize the terminal through conmon's control FIFO; best effort (no conmon reading it: nothing to resize). */
export async function resizeTerminal(ctlFifo: string, cols: number, rows: number): Promise<void> {
  if (!(cols > 0 && rows > 0)) return;
  // conmon refuses sizes above 1000 and would drop the line.
  const c = Math.min(1000, Math.floor(cols));
  const r = Math.min(1000, Math.floor(rows));
  // Non-blocking: a FIFO nobody reads (conmon gone) fails with ENXIO instead of hanging the agent.
  const fh = await open(ctlFifo, constants.O_WRONLY | constants.O_NONBLOCK).catch(() => undefined);
  if (!fh) return;
  try {
    await fh.write(`1 ${r} ${c}\n`);
  } catch {
    /* a full FIFO: conmon is not reading; the next resize will do */
  } finally {
    await fh.close();
  }
}
