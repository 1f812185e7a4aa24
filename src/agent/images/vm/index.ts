// VM images (kernel + initramfs + root disk from Debian packages) and the
// boot profile the VM driver uses with them.
export { VmImages, VM_IMAGE_NAMES, type VmImage, type VmImageName, type VmImagesOptions, type ProgressFn } from './vm-images.js';
export { DEFAULT_BOOT_PROFILE, PROFILES, COMMON_CMDLINE, hostTscKhz, profileCmdline, type BootProfile } from './boot-profile.js';
export { GUEST_READY_MARKER, GUEST_AGENT_PATH, BOOT_HOOKS_DIR } from './busybox-vm.js';
export { DEFAULT_DEB_CACHE } from './debs.js';
