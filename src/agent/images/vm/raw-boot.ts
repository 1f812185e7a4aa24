// A hand-written QEMU command line around a VM image, with no driver in
// between: the baseline the boot benchmark and the image tests use, and how
// the boot profile was chosen. Serial console on stdio; optional QMP socket.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import type { BootProfile } from './boot-profile.js';

export interface RawBootOptions {
  kernel: string;
  initrd?: string;
  /** The full kernel command line. */
  cmdline: string;
  /** A qcow2 the VM may write (an overlay on the image's disk). */
  disk: string;
  profile: BootProfile;
  cpus?: number;
  memoryMiB?: number;
  /** tcg unless a caller knows KVM works. */
  accel?: 'tcg' | 'kvm';
  qmpSocket?: string;
  qemu?: string;
}

export function rawQemuArgs(o: RawBootOptions): string[] {
  const blk = o.profile.machine.startsWith('microvm') ? 'virtio-blk-device' : 'virtio-blk-pci';
  return [
    '-accel', o.accel ?? 'tcg',
    '-machine', o.profile.machine,
    ...o.profile.qemuArgs,
    '-smp', String(o.cpus ?? 1),
    '-m', String(o.memoryMiB ?? 256),
    '-nodefaults', '-no-user-config', '-display', 'none',
    '-serial', 'stdio',
    '-kernel', o.kernel,
    ...(o.initrd ? ['-initrd', o.initrd] : []),
    '-append', o.cmdline,
    '-drive', `file=${o.disk},format=qcow2,if=none,id=root,cache=writeback`,
    '-device', `${blk},drive=root`,
    ...(o.qmpSocket ? ['-qmp', `unix:${o.qmpSocket},server=on,wait=off`] : []),
  ];
}

/** One running QEMU; kill() by its PID, always (tests call it in finally). */
export class RawVm {
  readonly child: ChildProcess;
  readonly startedAt = performance.now();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #output = '';
  #waiters: Array<() => void> = [];

  private constructor(child: ChildProcess) {
    this.child = child;
    const onData = (c: Buffer): void => {
      this.#output += c.toString('latin1');
      for (const w of this.#waiters.splice(0)) w();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
      resolve({ code, signal });
      for (const w of this.#waiters.splice(0)) w();
    }));
  }

  static start(o: RawBootOptions): RawVm {
    const child = spawn(o.qemu ?? 'qemu-system-x86_64', rawQemuArgs(o), { stdio: ['pipe', 'pipe', 'pipe'] });
    child.on('error', () => undefined); // surfaces as an exit; waitFor reports the output
    return new RawVm(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Everything QEMU and the guest printed so far. */
  get output(): string {
    return this.#output;
  }

  /** Resolves with ms since start once `text` appears after output offset `from`; rejects on exit or timeout. */
  waitFor(text: string, timeoutMs: number, from = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no ${JSON.stringify(text)} within ${timeoutMs} ms; output:\n${this.#output.slice(-2000)}`));
      }, timeoutMs);
      const check = (): void => {
        if (this.#output.indexOf(text, from) >= 0) {
          clearTimeout(timer);
          resolve(performance.now() - this.startedAt);
        } else if (this.child.exitCode !== null || this.child.signalCode !== null) {
          clearTimeout(timer);
          reject(new Error(`QEMU exited before ${JSON.stringify(text)}; output:\n${this.#output.slice(-2000)}`));
        } else this.#waiters.push(check);
      };
      check();
    });
  }

  /** Types on the serial console. */
  send(text: string): void {
    this.child.stdin?.write(text);
  }

  kill(): void {
    if (this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) process.kill(this.child.pid, 'SIGKILL');
  }
}

/** One QMP command over a fresh connection (greeting, capabilities, command): enough for system_powerdown. */
export function qmpCommand(socket: string, execute: string, timeoutMs = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const conn = connect(socket);
    let buf = '';
    let sent = 0;
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`QMP ${execute} on ${socket}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`QMP ${execute} on ${socket}: ${e.message}`));
    });
    conn.on('data', (c) => {
      buf += c.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buf.slice(0, nl)) as { QMP?: unknown; return?: unknown; error?: { desc?: string } };
        buf = buf.slice(nl + 1);
        if (msg.error) {
          clearTimeout(timer);
          conn.destroy();
          return reject(new Error(`QMP ${execute}: ${msg.error.desc ?? 'error'}`));
        }
        if (msg.QMP !== undefined) conn.write('{"execute":"qmp_capabilities"}\n');
        else if (msg.return !== undefined && sent++ === 0) conn.write(`{"execute":"${execute}"}\n`);
        else if (msg.return !== undefined) {
          clearTimeout(timer);
          conn.end();
          return resolve();
        }
      }
    });
  });
}
