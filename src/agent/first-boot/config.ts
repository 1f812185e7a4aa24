// First-boot configuration of a virtual server, as cloud-init's NoCloud data
// describes it: hostname, users with SSH keys, files and commands. One model
// for both types: a VM gets it as a seed disk its guest reads, a system
// container gets it written into its root filesystem before the first boot
// (rootfs.ts). userData is either a script (#!...), run once at first boot,
// or a #cloud-config document, of which Lodge applies hostname, users,
// write_files and runcmd itself (enough for images without cloud-init).
import { parse } from 'yaml';
import type { InstanceSpec, InstanceUser } from '../../apis/lodge/v1alpha1/instance-types.js';

export interface FirstBootUser {
  name: string;
  sshAuthorizedKeys: string[];
  sudo: boolean;
  shell?: string;
  groups: string[];
}

export interface FirstBootFile {
  path: string;
  content: string;
  /** Octal mode, e.g. 0o644. */
  mode: number;
}

export interface FirstBootConfig {
  hostname: string;
  users: FirstBootUser[];
  files: FirstBootFile[];
  /** A shell script run once at first boot (the user-data script, or cloud-config runcmd). */
  script?: string;
  /** Keys of a #cloud-config that Lodge does not apply (reported, not silently dropped). */
  ignored: string[];
}

export class FirstBootConfigError extends Error {}

function userFrom(u: InstanceUser): FirstBootUser {
  return { name: String(u.name), sshAuthorizedKeys: u.sshAuthorizedKeys ?? [], sudo: u.sudo ?? false, shell: u.shell, groups: u.groups ?? [] };
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** cloud-config's users entries: the "default" entry means the image's default user, which Lodge's images do not have. */
function cloudConfigUsers(v: unknown): FirstBootUser[] {
  if (!Array.isArray(v)) throw new FirstBootConfigError('userData: #cloud-config users must be a list');
  return v
    .filter((u) => u !== 'default')
    .map((u) => {
      const o = u as Record<string, unknown>;
      if (typeof o?.name !== 'string') throw new FirstBootConfigError('userData: every #cloud-config user needs a name');
      const keys = o.ssh_authorized_keys ?? o['ssh-authorized-keys'] ?? [];
      const groups = typeof o.groups === 'string' ? o.groups.split(',').map((g) => g.trim()) : ((o.groups as string[] | undefined) ?? []);
      return { name: o.name, sshAuthorizedKeys: (keys as unknown[]).map(String), sudo: o.sudo !== undefined && o.sudo !== false && o.sudo !== null, shell: typeof o.shell === 'string' ? o.shell : undefined, groups };
    });
}

export function firstBootConfig(name: string, spec: InstanceSpec | undefined): FirstBootConfig {
  const ci = spec?.cloudInit ?? {};
  const out: FirstBootConfig = { hostname: (ci.hostname || name).slice(0, 63), users: (ci.users ?? []).map(userFrom), files: [], ignored: [] };
  const data = ci.userData?.trim();
  if (!data) return out;
  if (data.startsWith('#!')) {
    out.script = ci.userData;
    return out;
  }
  if (!data.startsWith('#cloud-config')) throw new FirstBootConfigError('userData must be a script (starting with #!) or a #cloud-config document');
  let doc: Record<string, unknown>;
  try {
    doc = (parse(data) as Record<string, unknown> | null) ?? {};
  } catch (e) {
    throw new FirstBootConfigError(`userData: #cloud-config is not valid YAML: ${(e as Error).message}`);
  }
  for (const [k, v] of Object.entries(doc)) {
    if (k === 'hostname' && typeof v === 'string') out.hostname = v.slice(0, 63);
    else if (k === 'users') out.users.push(...cloudConfigUsers(v));
    else if (k === 'write_files') {
      if (!Array.isArray(v)) throw new FirstBootConfigError('userData: write_files must be a list');
      for (const f of v as Array<Record<string, unknown>>) {
        if (typeof f?.path !== 'string' || !f.path.startsWith('/')) throw new FirstBootConfigError('userData: every write_files entry needs an absolute path');
        const mode = typeof f.permissions === 'string' ? parseInt(f.permissions, 8) : 0o644;
        out.files.push({ path: f.path, content: String(f.content ?? ''), mode: Number.isNaN(mode) ? 0o644 : mode });
      }
    } else if (k === 'runcmd') {
      if (!Array.isArray(v)) throw new FirstBootConfigError('userData: runcmd must be a list');
      const lines = (v as unknown[]).map((c) => (Array.isArray(c) ? c.map((x) => shellQuote(String(x))).join(' ') : String(c)));
      out.script = ['#!/bin/sh', 'set -e', ...lines, ''].join('\n');
    } else out.ignored.push(k);
  }
  return out;
}
