// Where a VM's state lives. Everything needed to find, re-adopt and tear
// down a VM is under <root>/vms/<id>/: the record of what create was asked
// for, QEMU's pid file, the disk overlay, the QMP and console sockets and
// the exit record. A fresh agent needs no memory of its own.
import { join } from 'node:path';
import type { Accelerator } from './accel.js';

// The container driver's id rule: the id ends up in paths, cgroup names and QEMU's -name.
const ID = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$/;

export function validateId(id: string): void {
  if (!ID.test(id)) throw new Error(`vm id ${JSON.stringify(id)} must match ${ID.source}`);
}

/** sockaddr_un.sun_path is 108 bytes including the NUL. */
export const MAX_SOCKET_PATH = 107;

export class Layout {
  constructor(readonly root: string) {}

  get vmsDir(): string {
    return join(this.root, 'vms');
  }

  of(id: string): VmPaths {
    const dir = join(this.vmsDir, id);
    return {
      dir,
      record: join(dir, 'vm.json'),
      qemuPidFile: join(dir, 'qemu.pid'),
      pid: join(dir, 'pid'),
      overlay: join(dir, 'disk.qcow2'),
      qmpSocket: join(dir, 'qmp.sock'),
      consoleSocket: join(dir, 'console.sock'),
      guestAgentSocket: join(dir, 'guest-agent.sock'),
      startedAt: join(dir, 'started-at'),
      exit: join(dir, 'exit.json'),
      killSignal: join(dir, 'kill-signal'),
      qemuLog: join(dir, 'qemu.log'),
    };
  }
}

export interface VmPaths {
  dir: string;
  /** vm.json: the VmRecord. */
  record: string;
  /** Written by QEMU (-pidfile) and removed by QEMU itself on a clean exit: its absence after the process is gone means QEMU shut down in order. */
  qemuPidFile: string;
  /** Our copy of QEMU's pid, kept after QEMU exits: how we know which process was ours. */
  pid: string;
  /** The VM's root disk: a qcow2 overlay backed by the image's disk. */
  overlay: string;
  qmpSocket: string;
  /** The serial console (ttyS0), one client at a time. */
  consoleSocket: string;
  /** The guest agent's virtio-serial port (QGA protocol), one client at a time. Absent for VMs made before the image carried an agent. */
  guestAgentSocket: string;
  /** RFC 3339 time of the first start (QMP cont). */
  startedAt: string;
  /** exit.json: a VmExit, written once, by whoever first sees the VM gone. */
  exit: string;
  /** The signal kill() sent last, so an exit it caused is reported as 128+signal. */
  killSignal: string;
  /** QEMU's own messages (-D: its stderr once daemonized), kept for VMs started from a state file, whose load errors are reported only there. */
  qemuLog: string;
}

/** The part of the WorkloadSpec kept on disk for the VM's lifetime. */
export interface VmRecord {
  id: string;
  node: string;
  cgroupsPath: string;
  logPath: string;
  accelerator: Accelerator;
  machine: string;
  cpus: number;
  memoryBytes: number;
  /** QEMU's full command line, for `lodge info` and for a human reproducing a problem. */
  argv: string[];
  createdAt: string;
  /** VmSpec.incomingState: QEMU waits (-incoming defer) and start() loads this state file before it runs the guest. */
  incomingState?: string;
}
