// A VM's first-boot configuration as cloud-init's NoCloud data source reads
// it from a seed disk labelled cidata (seed-disk.ts): meta-data (instance-id,
// local-hostname), user-data and, when the spec has one, network-config.
// Images with real cloud-init read those standard files. Lodge's own images
// have no cloud-init (and busybox no YAML parser), so the seed also carries
// lodge-first-boot.sh: the same configuration (config.ts's FirstBootConfig,
// as for system containers) as a small POSIX sh applier their rcS runs once
// per instance-id.
import { parse, stringify } from 'yaml';
import type { Instance } from '../../apis/lodge/v1alpha1/instance-types.js';
import { FirstBootConfigError, firstBootConfig, type FirstBootConfig, type FirstBootUser } from './config.js';
import { cloudInitNetworkConfig, lodgeNetworkScript, type GuestNetwork } from './guest-network.js';
import { FIRST_BOOT_SCRIPT } from './rootfs.js';

/** The applier's file name on the seed disk (next to meta-data and user-data). */
export const LODGE_FIRST_BOOT_FILE = 'lodge-first-boot.sh';
/** The volume label cloud-init's NoCloud looks for (it accepts cidata or CIDATA). */
export const SEED_LABEL = 'cidata';

export interface NoCloudSeed {
  /** meta-data, YAML. */
  metaData: string;
  /** user-data: a #cloud-config, a script, or a multipart MIME message of both. */
  userData: string;
  /** network-config (v1 or v2 YAML): the spec's own, else Lodge's address for the VM's NIC (v2, matched by MAC) when it has one. */
  networkConfig?: string;
  /** lodge-first-boot.sh for images without cloud-init. */
  lodgeFirstBoot: string;
  /** lodge-network.sh, Lodge's address for images without cloud-init (run at every boot), when the VM has a NIC. */
  lodgeNetwork?: string;
  /** What was applied, and the #cloud-config keys the Lodge applier leaves to cloud-init. */
  config: FirstBootConfig;
}

// Whatever the spec holds ends up in a shell script run as root: names are
// checked here as well as at admission, since #cloud-config users are not.
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}\$?$/;
const GROUP_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const SHELL = /^\/[A-Za-z0-9_./+-]+$/;

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** A FirstBootUser as a cloud-config users entry (cloud-init's schema: sudo is a sudoers rule, passwords stay locked). */
function cloudConfigUser(u: FirstBootUser): Record<string, unknown> {
  return {
    name: u.name,
    ...(u.sshAuthorizedKeys.length ? { ssh_authorized_keys: u.sshAuthorizedKeys } : {}),
    ...(u.sudo ? { sudo: 'ALL=(ALL) NOPASSWD:ALL' } : {}),
    ...(u.shell ? { shell: u.shell } : {}),
    ...(u.groups.length ? { groups: u.groups.join(', ') } : {}),
    lock_passwd: true,
  };
}

function cloudConfig(doc: Record<string, unknown>): string {
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}

/**
 * Two parts in one user-data, as cloud-init's multipart MIME input: the
 * cloud-config (users) and the script, which cloud-init runs once per
 * instance like a script given alone.
 */
function multipart(config: string, script: string, uid: string): string {
  let boundary = `lodge-${uid}`;
  while (config.includes(boundary) || script.includes(boundary)) boundary += '-x';
  const part = (type: string, filename: string, body: string): string =>
    [`--${boundary}`, `Content-Type: ${type}; charset="utf-8"`, 'MIME-Version: 1.0', 'Content-Transfer-Encoding: 8bit', `Content-Disposition: attachment; filename="${filename}"`, '', body.endsWith('\n') ? body : `${body}\n`].join('\n');
  return [`Content-Type: multipart/mixed; boundary="${boundary}"`, 'MIME-Version: 1.0', '', part('text/cloud-config', 'cloud-config.txt', config), part('text/x-shellscript', 'user-data.sh', script), `--${boundary}--`, ''].join('\n');
}

/** The cloud-init user-data for this spec: the user's own userData with Lodge's hostname and users merged in. */
function userDataOf(i: Instance, cfg: FirstBootConfig, specUsers: FirstBootUser[]): string {
  const data = i.spec?.cloudInit?.userData;
  const trimmed = data?.trim() ?? '';
  const base: Record<string, unknown> = { hostname: cfg.hostname, ...(specUsers.length ? { users: specUsers.map(cloudConfigUser) } : {}) };
  if (trimmed.startsWith('#cloud-config')) {
    // config.ts has parsed and checked it already.
    const doc = (parse(trimmed) as Record<string, unknown> | null) ?? {};
    const theirs = Array.isArray(doc.users) ? (doc.users as unknown[]) : [];
    // Theirs wins on every key but users, where the spec's come first (as config.ts applies them); hostname is cfg's, which already prefers theirs.
    return cloudConfig({ ...doc, hostname: cfg.hostname, ...(specUsers.length || theirs.length ? { users: [...specUsers.map(cloudConfigUser), ...theirs] } : {}) });
  }
  if (trimmed.startsWith('#!')) {
    // A script alone is valid user-data; the host name comes from meta-data's local-hostname.
    if (!specUsers.length) return data!;
    return multipart(cloudConfig(base), data!, String(i.metadata.uid));
  }
  return cloudConfig(base);
}

/** The applier for Lodge's images: plain POSIX sh plus busybox applets (no adduser in Debian's busybox-static, so passwd and group are edited directly). */
function lodgeFirstBootScript(cfg: FirstBootConfig, uid: string, copy: boolean): string {
  const out = [
    '#!/bin/sh',
    `# Lodge first-boot configuration of instance ${uid}. Run once per instance-id by`,
    "# the image's init; idempotent, so a run cut short is simply run again.",
    'set -eu',
    'umask 022',
    // The lowest id from 1000 up that the file's third field does not use.
    'next_id() { id=1000; while cut -d: -f3 "$1" | grep -qx "$id"; do id=$((id + 1)); done; echo "$id"; }',
    'add_group() { grep -q "^$1:" /etc/group || echo "$1:x:$(next_id /etc/group):" >>/etc/group; }',
    // Adds $2 to group $1's member list (no-op when already there); the file is rewritten in place so its owner and mode stay.
    'add_member() {',
    '  awk -F: -v OFS=: -v g="$1" -v u="$2" \'$1 == g { n = split($4, m, ","); found = 0; for (i = 1; i <= n; i++) if (m[i] == u) found = 1; if (!found) $4 = ($4 == "" ? u : $4 "," u) } { print }\' /etc/group >/etc/group.lodge',
    '  cat /etc/group.lodge >/etc/group && rm -f /etc/group.lodge',
    '}',
    'field() { awk -F: -v k="$2" -v f="$3" \'$1 == k { print $f }\' "$1"; }',
    'add_user() {',
    '  grep -q "^$1:" /etc/passwd && return 0',
    '  add_group "$1"',
    '  echo "$1:x:$(next_id /etc/passwd):$(field /etc/group "$1" 3)::/home/$1:$2" >>/etc/passwd',
    // A locked password: logins go through SSH keys (or lodge exec/console).
    '  [ ! -f /etc/shadow ] || echo "$1:!:19000:0:99999:7:::" >>/etc/shadow',
    '}',
    'put_file() { mkdir -p "$(dirname "$1")"; echo "$3" | base64 -d >"$1"; chmod "$2" "$1"; }',
    `echo ${shellQuote(cfg.hostname)} >/etc/hostname`,
  ];
  if (copy) {
    // A copy of another instance's disk is a new machine: a machine-id of its own (systemd-machine-id-setup writes one; without systemd, a fresh random one).
    out.push(
      'rm -f /etc/machine-id',
      'command -v systemd-machine-id-setup >/dev/null && systemd-machine-id-setup >/dev/null 2>&1 || od -An -N16 -tx1 /dev/urandom | tr -d " \\n" >/etc/machine-id',
    );
  }
  for (const u of cfg.users) {
    if (!USER_NAME.test(u.name)) throw new FirstBootConfigError(`user name ${JSON.stringify(u.name)} is not a Linux user name`);
    const shell = u.shell ?? '/bin/sh';
    if (!SHELL.test(shell)) throw new FirstBootConfigError(`user ${u.name}: shell ${JSON.stringify(shell)} must be an absolute path`);
    const q = shellQuote(u.name);
    out.push(`add_user ${q} ${shellQuote(shell)}`);
    for (const g of u.groups) {
      if (!GROUP_NAME.test(g)) throw new FirstBootConfigError(`user ${u.name}: group ${JSON.stringify(g)} is not a group name`);
      out.push(`add_group ${shellQuote(g)}`, `add_member ${shellQuote(g)} ${q}`);
    }
    if (u.sudo) {
      // sudo and wheel only where the image has them (as in the container applier); the sudoers rule works for any sudo.
      out.push(`for g in sudo wheel; do ! grep -q "^$g:" /etc/group || add_member "$g" ${q}; done`);
      out.push(`put_file /etc/sudoers.d/90-lodge-${u.name} 440 ${b64(`${u.name} ALL=(ALL) NOPASSWD:ALL\n`)}`);
    }
    out.push(
      `home=$(field /etc/passwd ${q} 6); ids=$(field /etc/passwd ${q} 3):$(field /etc/passwd ${q} 4)`,
      'mkdir -p "$home/.ssh"',
      ...(u.sshAuthorizedKeys.length ? [`put_file "$home/.ssh/authorized_keys" 600 ${b64(`${u.sshAuthorizedKeys.join('\n')}\n`)}`] : []),
      'chmod 700 "$home/.ssh"',
      'chown -R "$ids" "$home"',
    );
  }
  for (const f of cfg.files) out.push(`put_file ${shellQuote(f.path)} ${f.mode.toString(8)} ${b64(f.content)}`);
  if (cfg.script) {
    // Installed where the system containers' init finds it too; the image's init runs it once (its .done marks that) after boot.
    out.push(`put_file ${FIRST_BOOT_SCRIPT} 755 ${b64(cfg.script)}`, `rm -f ${FIRST_BOOT_SCRIPT}.done`);
  }
  out.push('');
  return out.join('\n');
}

/**
 * The NoCloud data of a VM Instance; `network`: the address Lodge gives its
 * NIC (none: the VM has no network). Throws FirstBootConfigError on unusable
 * cloud-init data.
 */
export function noCloudSeed(i: Instance, network?: GuestNetwork | GuestNetwork[]): NoCloudSeed {
  const uid = String(i.metadata.uid ?? '');
  if (!uid) throw new FirstBootConfigError('the instance has no uid (its instance-id)');
  const cfg = firstBootConfig(String(i.metadata.name), i.spec);
  const specUsers = cfg.users.slice(0, i.spec?.cloudInit?.users?.length ?? 0);
  // The user's own network-config wins for cloud-init; Lodge's images, which cannot read it, still get Lodge's address.
  const theirs = i.spec?.cloudInit?.networkConfig?.trim();
  const nics = network === undefined ? [] : Array.isArray(network) ? network : [network];
  const networkConfig = theirs ? `${theirs}\n` : nics.length ? cloudInitNetworkConfig(nics) : undefined;
  return {
    metaData: stringify({ 'instance-id': uid, 'local-hostname': cfg.hostname }),
    userData: userDataOf(i, cfg, specUsers),
    ...(networkConfig ? { networkConfig } : {}),
    lodgeFirstBoot: lodgeFirstBootScript(cfg, uid, !!i.spec?.source),
    ...(nics.length ? { lodgeNetwork: lodgeNetworkScript(nics) } : {}),
    config: cfg,
  };
}
