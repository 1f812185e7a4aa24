// A Table built on the client, for servers (or watch streams) that answer
// with plain objects instead of a meta.k8s.io Table. Lodge's own kinds carry
// their columns in the registry the server uses, so the result matches what
// the server would print; unknown kinds get NAME and AGE.
import { age } from '../../apis/columns.js';
import { registry } from '../../apis/registry.js';
import type { Column, KubeObject } from '../../apis/types.js';
import type { Table, TableColumn } from './table.js';

function columnsFor(apiVersion: string, kind: string): Column[] | undefined {
  try {
    return registry().kind(apiVersion, kind)?.columns;
  } catch {
    // The registry refuses to build while a kind is incomplete; fall back.
    return undefined;
  }
}

const nameColumn: TableColumn = { name: 'Name', type: 'string', format: 'name', priority: 0 };

export function localTable(objects: KubeObject[], now = Date.now()): Table {
  const first = objects[0];
  const cols = first ? columnsFor(first.apiVersion, first.kind) : undefined;
  if (cols) {
    return {
      kind: 'Table',
      columnDefinitions: [nameColumn, ...cols.map(({ name, type, format, description, priority }) => ({ name, type, format, description, priority }))],
      rows: objects.map((o) => ({ cells: [o.metadata.name ?? '', ...cols.map((c) => safeCell(c, o, now))], object: o })),
    };
  }
  return {
    kind: 'Table',
    columnDefinitions: [nameColumn, { name: 'Age', type: 'string', priority: 0 }],
    rows: objects.map((o) => ({ cells: [o.metadata.name ?? '', age(o, now)], object: o })),
  };
}

function safeCell(c: Column, o: KubeObject, now: number): unknown {
  try {
    return c.cell(o, now);
  } catch {
    return null; // one malformed object must not hide the rest of the table
  }
}
