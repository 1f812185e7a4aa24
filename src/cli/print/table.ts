// Tables as kubectl prints them: meta.k8s.io/v1 Table from the server (or
// built locally), uppercase headers, columns padded to a common width with
// three spaces between them, wide-only columns (priority > 0) hidden unless
// -o wide, NAMESPACE first with -A, LABELS last with --show-labels.
import type { ObjectMeta } from '../../apis/types.js';

export interface TableColumn {
  name: string;
  type?: string;
  format?: string;
  description?: string;
  priority?: number;
}

export interface TableRow {
  cells: unknown[];
  /** With includeObject=Metadata (the default) a PartialObjectMetadata; or the full object. */
  object?: { metadata?: ObjectMeta; [k: string]: unknown };
}

export interface Table {
  kind: 'Table';
  apiVersion?: string;
  metadata?: { resourceVersion?: string };
  columnDefinitions: TableColumn[];
  rows: TableRow[];
}

export interface TableView {
  wide: boolean;
  withNamespace: boolean;
  showLabels: boolean;
  /** "pod/": prefixed to NAME when several kinds share one output. */
  namePrefix?: string;
  /** Leading EVENT column for `get -w --output-watch-events`. */
  withEventType?: boolean;
}

export function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Table' && Array.isArray((v as Table).rows);
}

const PADDING = 3;

/** How a cell reads. Like kubectl, a null cell is blank: servers write "<none>" themselves where they mean it. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** "a=1,b=2", sorted by key, or <none>. */
export function labelsText(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${labels![k]}`).join(',') : '<none>';
}

/** The header and rows a table shows under the given view, as text cells. */
export function tableGrid(columns: TableColumn[], rows: TableRow[], view: TableView, eventTypes?: string[]): { header: string[]; rows: string[][] } {
  const shown = columns.map((c, i) => ({ c, i })).filter(({ c }) => view.wide || !c.priority);
  const nameIndex = columns.findIndex((c) => c.name.toLowerCase() === 'name');
  const header: string[] = [];
  if (view.withEventType) header.push('EVENT');
  if (view.withNamespace) header.push('NAMESPACE');
  header.push(...shown.map(({ c }) => c.name.toUpperCase()));
  if (view.showLabels) header.push('LABELS');
  const out = rows.map((r, n) => {
    const line: string[] = [];
    if (view.withEventType) line.push(eventTypes?.[n] ?? '');
    if (view.withNamespace) line.push(r.object?.metadata?.namespace ?? '');
    for (const { i } of shown) {
      const text = cellText(r.cells[i]);
      line.push(i === nameIndex && view.namePrefix ? view.namePrefix + text : text);
    }
    if (view.showLabels) line.push(labelsText(r.object?.metadata?.labels));
    return line;
  });
  return { header, rows: out };
}

/** Column widths that fit every line. */
export function columnWidths(lines: string[][]): number[] {
  const widths: number[] = [];
  for (const line of lines) line.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return widths;
}

/** One aligned line; the last column is not padded (no trailing spaces). */
export function alignLine(cells: string[], widths: number[], padding = PADDING): string {
  return cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd((widths[i] ?? 0) + padding))).join('');
}

/** A whole table as text, with a trailing newline; empty string when there are no lines at all. */
export function renderLines(lines: string[][], padding = PADDING): string {
  if (lines.length === 0) return '';
  const widths = columnWidths(lines);
  return lines.map((l) => alignLine(l, widths, padding) + '\n').join('');
}

/**
 * For `get -w`: rows arrive one event at a time, so widths come from what
 * was printed first and only grow, keeping later rows roughly aligned as
 * kubectl's flushed tabwriter does.
 */
export class StreamingTable {
  private widths: number[] = [];
  private headerDone = false;

  constructor(private readonly noHeaders = false) {}

  /** Text for `header` (once) and `rows`. */
  write(header: string[], rows: string[][]): string {
    const lines = this.headerDone || this.noHeaders ? rows : [header, ...rows];
    this.headerDone = true;
    const fresh = columnWidths(lines);
    this.widths = fresh.map((w, i) => Math.max(w, this.widths[i] ?? 0));
    return lines.map((l) => alignLine(l, this.widths) + '\n').join('');
  }
}
