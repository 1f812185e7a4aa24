// Reading objects for apply/create/delete -f: files, directories (their
// .yaml/.yml/.json files, recursively with -R) or "-" for stdin; multi-
// document YAML or JSON; List kinds expanded into their items.
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import YAML from 'yaml';
import type { KubeObject } from '../apis/types.js';

export interface Manifest {
  object: KubeObject;
  /** File name (or "STDIN") for messages. */
  source: string;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function filesUnder(dir: string, recursive: boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(dir, e.name);
    if (e.isDirectory()) {
      if (recursive) out.push(...(await filesUnder(full, recursive)));
    } else if (MANIFEST_EXTENSIONS.has(extname(e.name).toLowerCase())) {
      out.push(full);
    }
  }
  return out;
}

/** Every object in the given -f arguments, in order. */
export async function readManifests(paths: string[], recursive = false): Promise<Manifest[]> {
  const out: Manifest[] = [];
  for (const p of paths) {
    if (p === '-') {
      out.push(...parseManifests(await readStdin(), 'STDIN'));
      continue;
    }
    let info;
    try {
      info = await stat(p);
    } catch (err) {
      throw new Error(`the path "${p}" does not exist`, { cause: err });
    }
    const files = info.isDirectory() ? await filesUnder(p, recursive) : [p];
    if (info.isDirectory() && files.length === 0) throw new Error(`no .yaml, .yml or .json files in directory "${p}"`);
    for (const f of files) out.push(...parseManifests(await readFile(f, 'utf8'), f));
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects in one text; empty documents are skipped, Lists flattened. */
export function parseManifests(text: string, source: string): Manifest[] {
  const out: Manifest[] = [];
  // YAML 1.1 as kubectl reads it (defaultMode: 0644 is octal 420, "on" is
  // true), except that timestamps stay strings, as Kubernetes' JSON has them.
  const docs = YAML.parseAllDocuments(text, {
    version: '1.1',
    customTags: (tags) => tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:timestamp'),
  });
  docs.forEach((doc, i) => {
    if (doc.errors.length) throw new Error(`error parsing ${source} (document ${i + 1}): ${doc.errors[0].message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    collect(value, source, i + 1, out);
  });
  return out;
}

function collect(value: unknown, source: string, docNo: number, out: Manifest[]): void {
  if (!isRecord(value)) throw new Error(`error validating "${source}" (document ${docNo}): expected an object, got ${Array.isArray(value) ? 'a list' : typeof value}`);
  const kind = value.kind;
  if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(value.items)) {
    for (const item of value.items) collect(item, source, docNo, out);
    return;
  }
  const missing: string[] = [];
  if (typeof value.apiVersion !== 'string' || !value.apiVersion) missing.push('apiVersion not set');
  if (typeof kind !== 'string' || !kind) missing.push('kind not set');
  if (!isRecord(value.metadata)) value.metadata = {};
  if (missing.length) throw new Error(`error validating "${source}" (document ${docNo}): error validating data: [${missing.join(', ')}]`);
  out.push({ object: value as unknown as KubeObject, source });
}
