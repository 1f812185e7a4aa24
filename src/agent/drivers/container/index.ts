// The container driver: runc under conmon (see driver.ts).
export { ContainerDriver, type ContainerDriverOptions } from './driver.js';
export { buildOciSpec, type OciSpec } from './oci-spec.js';
