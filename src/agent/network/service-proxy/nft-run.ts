// One nft run with a deadline. Every write to Lodge's table goes
// through one queue (serial.ts, shared with nat.ts), so an nft that never
// exits (a kernel lock held elsewhere, a wedged netlink socket) would stop the
// proxy and the NAT for good; past the deadline it is killed (by its pid) and
// the sync fails like any other, to be retried after a read-back.
import { spawn } from 'node:child_process';

/** Far above a normal run (~5-200 ms, the first program of 1,000s of Services ~1 s on a loaded host). */
export const NFT_DEADLINE_MS = 30_000;

/** Run nft with `args` (and `input` on its stdin); its stdout. Fails with nft's last stderr lines, or when past the deadline. */
export function runNft(args: string[], input?: string, deadlineMs = NFT_DEADLINE_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('nft', args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`nft ${args.join(' ')}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(Buffer.concat(out).toString());
      const msg = Buffer.concat(err).toString().trim().split('\n').slice(-5).join('\n');
      reject(new Error(timedOut ? `nft ${args.join(' ')}: no answer in ${deadlineMs} ms, killed` : `nft ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${msg}`));
    });
    if (child.stdin) {
      // The exit status tells what went wrong (an nft that died before reading its input).
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
  });
}
