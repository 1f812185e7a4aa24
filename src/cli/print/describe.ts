// `kubectl describe`-style text: aligned "Key:  value" lines (two spaces of
// padding, as kubectl's describers use), multi-line labels and annotations,
// the kind's own lines, and an Events table.
import { humanDuration } from '../../apis/columns.js';
import type { KubeObject } from '../../apis/types.js';
import { renderLines } from './table.js';
import { toYaml } from './objects.js';

export interface EventLike {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  source?: { component?: string; host?: string };
  reportingController?: string;
  metadata?: { creationTimestamp?: string };
}

const PAD = 2;

/** "Key:" padded to a shared width; continuation lines of a map align under the first value. */
function block(entries: Array<[string, string[]]>): string[] {
  const width = Math.max(...entries.map(([k]) => k.length + 1)) + PAD;
  const out: string[] = [];
  for (const [key, values] of entries) {
    const vals = values.length ? values : ['<none>'];
    out.push(`${`${key}:`.padEnd(width)}${vals[0]}`);
    for (const v of vals.slice(1)) out.push(`${' '.repeat(width)}${v}`);
  }
  return out;
}

function mapLines(m: Record<string, string> | undefined, sep: string): string[] {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}${sep}${m![k]}`);
}

function timestamp(iso: string | undefined): string {
  if (!iso) return '<unknown>';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toUTCString();
}

/** The metadata lines every object gets. */
export function metadataLines(obj: KubeObject, now: number): string[] {
  const md = obj.metadata;
  const entries: Array<[string, string[]]> = [['Name', [md.name ?? '']]];
  if (md.namespace) entries.push(['Namespace', [md.namespace]]);
  entries.push(['Labels', mapLines(md.labels, '=')]);
  entries.push(['Annotations', mapLines(md.annotations, ': ')]);
  entries.push(['Created', [md.creationTimestamp ? `${timestamp(md.creationTimestamp)} (${humanDuration(now - Date.parse(md.creationTimestamp))} ago)` : '<unknown>']]);
  const controller = md.ownerReferences?.find((o) => o.controller);
  if (controller) entries.push(['Controlled By', [`${controller.kind}/${controller.name}`]]);
  if (md.deletionTimestamp) entries.push(['Terminating', [`since ${timestamp(md.deletionTimestamp)}`]]);
  if (md.finalizers?.length) entries.push(['Finalizers', [md.finalizers.join(', ')]]);
  return block(entries);
}

/** When the kind has no describer: spec and status as indented YAML. */
export function fallbackLines(obj: KubeObject): string[] {
  const out: string[] = [];
  for (const key of ['spec', 'status'] as const) {
    const v = obj[key];
    if (v === undefined || (typeof v === 'object' && v !== null && Object.keys(v).length === 0)) continue;
    out.push(`${key === 'spec' ? 'Spec' : 'Status'}:`);
    out.push(...toYaml(v).trimEnd().split('\n').map((l) => `  ${l}`));
  }
  return out;
}

function eventTime(e: EventLike): string | undefined {
  return e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
}

function eventAge(e: EventLike, now: number): string {
  const last = eventTime(e);
  if (!last) return '<unknown>';
  const age = humanDuration(now - Date.parse(last));
  if ((e.count ?? 1) > 1 && e.firstTimestamp) return `${age} (x${e.count} over ${humanDuration(now - Date.parse(e.firstTimestamp))})`;
  return age;
}

/** The Events section: a table, or "<none>". */
export function eventLines(events: EventLike[], now: number): string[] {
  if (events.length === 0) return ['Events:  <none>'];
  const sorted = [...events].sort((a, b) => Date.parse(eventTime(a) ?? '') - Date.parse(eventTime(b) ?? ''));
  const rows = sorted.map((e) => [
    e.type ?? '',
    e.reason ?? '',
    eventAge(e, now),
    e.source?.component ? [e.source.component, e.source.host].filter(Boolean).join(', ') : (e.reportingController ?? ''),
    (e.message ?? '').trim(),
  ]);
  const table = renderLines([['Type', 'Reason', 'Age', 'From', 'Message'], ['----', '------', '----', '----', '-------'], ...rows], PAD);
  return ['Events:', ...table.trimEnd().split('\n').map((l) => `  ${l}`)];
}

/** The whole description of one object. */
export function describeObject(obj: KubeObject, kindLines: string[] | undefined, events: EventLike[] | string, now = Date.now()): string {
  const lines = [...metadataLines(obj, now), ...(kindLines ?? fallbackLines(obj))];
  if (typeof events === 'string') lines.push(`Events:  ${events}`);
  else lines.push(...eventLines(events, now));
  return lines.join('\n') + '\n';
}
