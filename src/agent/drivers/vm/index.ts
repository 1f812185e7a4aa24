// The VM driver: QEMU via QMP (see driver.ts).
export { VmDriver, type VmDriverOptions } from './driver.js';
export { probeAccelerator, type Accelerator, type AccelProbeResult } from './accel.js';
export { kernelCmdline, qemuArgs } from './qemu-args.js';
export type { VmExit } from './exit.js';
