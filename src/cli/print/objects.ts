// Whole-object output: -o yaml, -o json, -o name, -o jsonpath=…, -o custom-columns=….
import YAML from 'yaml';
import type { KubeObject } from '../../apis/types.js';
import { executeTemplate, formatValue, selectValues } from './jsonpath.js';
import { renderLines } from './table.js';

export type OutputFormat =
  | { kind: 'table'; wide: boolean }
  | { kind: 'yaml' }
  | { kind: 'json' }
  | { kind: 'name' }
  | { kind: 'jsonpath'; template: string }
  | { kind: 'custom-columns'; columns: Array<{ header: string; path: string }> };

export function parseOutputFormat(o: string | undefined): OutputFormat {
  if (o === undefined || o === '') return { kind: 'table', wide: false };
  if (o === 'wide') return { kind: 'table', wide: true };
  if (o === 'yaml' || o === 'json' || o === 'name') return { kind: o };
  const eq = o.indexOf('=');
  const name = eq < 0 ? o : o.slice(0, eq);
  const arg = eq < 0 ? '' : o.slice(eq + 1);
  if (name === 'jsonpath') {
    if (!arg) throw new Error('jsonpath output needs a template, e.g. -o jsonpath={.metadata.name}');
    return { kind: 'jsonpath', template: arg };
  }
  if (name === 'custom-columns') {
    if (!arg) throw new Error('custom-columns output needs a spec, e.g. -o custom-columns=NAME:.metadata.name');
    const columns = arg.split(',').map((spec) => {
      const colon = spec.indexOf(':');
      if (colon <= 0) throw new Error(`custom-columns: "${spec}" is not HEADER:PATH`);
      return { header: spec.slice(0, colon), path: spec.slice(colon + 1) };
    });
    return { kind: 'custom-columns', columns };
  }
  throw new Error(`unable to match a printer suitable for the output format "${o}", allowed formats are: custom-columns,json,jsonpath,name,wide,yaml`);
}

export function toYaml(v: unknown): string {
  // kubectl style: sequences not indented under their key, no line folding.
  // YAML 1.1 quoting: strings such as "on", "yes" or timestamps stay strings
  // when kubectl or other YAML 1.1 readers load the output again.
  return YAML.stringify(v, { version: '1.1', indentSeq: false, lineWidth: 0 });
}

export function toJson(v: unknown): string {
  return JSON.stringify(v, null, 4) + '\n';
}

/** "pod", "deployment.apps", "instance.lodge.dev": how kubectl names a kind in messages. */
export function kindLabel(kind: string, group: string): string {
  return group ? `${kind.toLowerCase()}.${group}` : kind.toLowerCase();
}

export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** "pod/web-1". */
export function objectName(obj: KubeObject): string {
  return `${kindLabel(obj.kind, groupOf(obj.apiVersion))}/${obj.metadata.name ?? ''}`;
}

/** What kubectl prints for several objects: a v1 List. */
export function asList(items: KubeObject[]): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '' }, items };
}

/**
 * Print objects in a non-table format. `single` means the user named exactly
 * one object, which is then printed bare rather than inside a List.
 */
export function formatObjects(items: KubeObject[], format: Exclude<OutputFormat, { kind: 'table' }>, single: boolean, noHeaders = false): string {
  const doc = single && items.length === 1 ? items[0] : asList(items);
  switch (format.kind) {
    case 'yaml':
      return toYaml(doc);
    case 'json':
      return toJson(doc);
    case 'name':
      return items.map((o) => objectName(o) + '\n').join('');
    case 'jsonpath':
      return executeTemplate(format.template, doc);
    case 'custom-columns': {
      const rows = items.map((o) =>
        format.columns.map((c) => {
          const values = selectValues(c.path, o);
          return values.length ? values.map(formatValue).join(',') : '<none>';
        }),
      );
      return renderLines(noHeaders ? rows : [format.columns.map((c) => c.header), ...rows]);
    }
  }
}
