// Which kernel modules a guest must load, in load order. A .deb's module tree
// has no modules.dep (depmod runs at install time), so dependencies come from
// each module's own .modinfo "depends=" entry; modules.builtin says what needs
// no loading at all.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { elfSection } from './elf.js';

/** Modules are named with underscores; files may use dashes (virtio-rng.ko). */
const moduleName = (file: string): string => file.replace(/\.ko$/, '').replace(/-/g, '_');

export interface ModuleTree {
  /** /lib/modules/<version> inside the unpacked package. */
  dir: string;
  /** name → path relative to dir */
  files: Map<string, string>;
  builtin: Set<string>;
}

export async function readModuleTree(dir: string): Promise<ModuleTree> {
  const files = new Map<string, string>();
  for (const rel of await readdir(join(dir, 'kernel'), { recursive: true })) {
    if (rel.endsWith('.ko')) files.set(moduleName(rel.split('/').pop()!), relative(dir, join(dir, 'kernel', rel)));
  }
  const builtinText = await readFile(join(dir, 'modules.builtin'), 'utf8').catch(() => '');
  const builtin = new Set(builtinText.split('\n').filter(Boolean).map((l) => moduleName(l.split('/').pop()!)));
  return { dir, files, builtin };
}

async function dependsOf(tree: ModuleTree, name: string): Promise<string[]> {
  const path = join(tree.dir, tree.files.get(name)!);
  const info = elfSection(await readFile(path), '.modinfo', path);
  const entry = info?.toString('latin1').split('\0').find((s) => s.startsWith('depends='));
  return entry ? entry.slice('depends='.length).split(',').filter(Boolean) : [];
}

/**
 * The module files (relative to tree.dir) to insmod, dependencies first, for
 * `required` (an error when neither a module nor built in) and `optional`
 * (skipped when absent: another kernel build may lack them).
 */
export async function modulesToLoad(tree: ModuleTree, required: string[], optional: string[] = []): Promise<string[]> {
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = async (name: string, chain: string[]): Promise<void> => {
    if (seen.has(name) || tree.builtin.has(name)) return;
    if (!tree.files.has(name)) throw new Error(`kernel module ${name} (needed by ${chain.join(' → ') || 'the guest'}) is neither built in nor in ${tree.dir}`);
    seen.add(name);
    for (const dep of await dependsOf(tree, name)) await visit(dep, [...chain, name]);
    order.push(tree.files.get(name)!);
  };
  for (const name of required) await visit(name, []);
  for (const name of optional) if (tree.files.has(name) || tree.builtin.has(name)) await visit(name, []);
  return order;
}
