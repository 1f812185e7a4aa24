// The machine a bench ran on, for RESULTS.md.
import { readFileSync } from 'node:fs';
import { availableParallelism, release, totalmem } from 'node:os';

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  kernel: string;
  memGiB: number;
  node: string;
}

export function machineInfo(): MachineInfo {
  let cpuModel = 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpuModel = m[1].trim();
  } catch {
    /* not Linux: leave unknown */
  }
  return {
    nproc: availableParallelism(),
    cpuModel,
    kernel: release(),
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  };
}

export function describeMachine(m: MachineInfo): string {
  return `nproc ${m.nproc}, ${m.cpuModel}, kernel ${m.kernel}, ${m.memGiB} GiB RAM, Node ${m.node}`;
}
