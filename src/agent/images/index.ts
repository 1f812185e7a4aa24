// The node's image store: content-addressed blobs, layers unpacked once per
// diff-id for overlayfs, OCI layout and rootfs tarball import, built-in
// busybox and debian images.
export { ImageStore, ImageInUseError, ImageNotFoundError } from './store.js';
export type { ImageStoreOptions, ImportOptions, OciImportOptions, PreparedImage, RootfsImportOptions } from './store.js';
export type { ImageFormat, ImageRecord, LayerMeta } from './layout.js';
export { builtinImageName, builtinSpec } from './builtin.js';
export { DigestMismatchError } from './digest.js';
