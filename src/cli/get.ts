// `lodge get`: tables from the server's Table rendering, or whole objects
// (-o yaml|json|name|jsonpath|custom-columns), optionally followed by a watch.
import type { Command } from 'commander';
import type { KubeObject } from '../apis/types.js';
import { TABLE_ACCEPT, type KubeList } from '../client/client.js';
import { ApiError, isNotFound } from '../client/errors.js';
import { apiVersionOfRef, type ResourceRef } from '../client/paths.js';
import { withContext, type CliContext } from './context.js';
import { reportError } from './errors.js';
import { localTable } from './print/local-table.js';
import { formatObjects, kindLabel, parseOutputFormat, toJson, toYaml, objectName, type OutputFormat } from './print/objects.js';
import { executeTemplate } from './print/jsonpath.js';
import { StreamingTable, isTable, renderLines, tableGrid, type Table, type TableView } from './print/table.js';
import { parseTypeArgs, resolveRequests, type ResolvedRequest } from './targets.js';

interface GetOptions {
  allNamespaces?: boolean;
  selector?: string;
  fieldSelector?: string;
  output?: string;
  watch?: boolean;
  watchOnly?: boolean;
  outputWatchEvents?: boolean;
  showLabels?: boolean;
  headers?: boolean; // false with --no-headers
  ignoreNotFound?: boolean;
}

export function registerGet(program: Command): void {
  program
    .command('get')
    .description('Display one or many resources')
    .argument('<type>', 'resource type(s), e.g. pods or pods,svc, or TYPE/NAME')
    .argument('[names...]', 'names of the objects to show')
    .option('-A, --all-namespaces', 'list across all namespaces')
    .option('-l, --selector <selector>', 'label selector, e.g. app=web,tier!=db')
    .option('--field-selector <selector>', 'field selector, e.g. status.phase=Running')
    .option('-o, --output <format>', 'wide|yaml|json|name|jsonpath=TEMPLATE|custom-columns=SPEC')
    .option('-w, --watch', 'after listing, watch for changes')
    .option('--watch-only', 'watch for changes without listing first')
    .option('--output-watch-events', 'with --watch, add the event type (ADDED, MODIFIED, DELETED)')
    .option('--show-labels', 'add a LABELS column')
    .option('--no-headers', 'omit table headers')
    .option('--ignore-not-found', 'treat named objects that do not exist as success')
    .action(async (type: string, names: string[], opts: GetOptions, cmd: Command) => {
      await withContext(cmd, (ctx) => runGet(ctx, [type, ...names], opts));
    });
}

/** Table media type plus the row metadata -A and --show-labels need. */
const TABLE_QUERY = { includeObject: 'Metadata' };

/** List items come without apiVersion/kind; output formats need them, first as usual. */
function fillKind(obj: KubeObject, ref: ResourceRef): KubeObject {
  if (obj.apiVersion && obj.kind) return obj;
  const { apiVersion, kind, ...rest } = obj;
  return { apiVersion: apiVersion || apiVersionOfRef(ref), kind: kind || ref.kind, ...rest } as KubeObject;
}

/** Whatever the server answered, as a Table. */
function asTable(res: unknown, ref: ResourceRef): Table {
  if (isTable(res)) return res;
  const list = res as Partial<KubeList>;
  if (Array.isArray(list.items)) {
    const t = localTable(list.items.map((o) => fillKind(o, ref)));
    t.metadata = { resourceVersion: list.metadata?.resourceVersion };
    return t;
  }
  return localTable([fillKind(res as KubeObject, ref)]);
}

interface Scope {
  namespace: string | undefined;
  opts: GetOptions;
  errors: unknown[];
}

async function fetchTable(ctx: CliContext, r: ResolvedRequest, scope: Scope): Promise<Table> {
  const { resource } = r;
  if (r.names.length === 0) {
    const res = await ctx.client.list<unknown>(resource, {
      namespace: scope.namespace,
      labelSelector: scope.opts.selector,
      fieldSelector: scope.opts.fieldSelector,
      accept: TABLE_ACCEPT,
      query: TABLE_QUERY,
    });
    return asTable(res, resource);
  }
  let combined: Table | undefined;
  for (const name of r.names) {
    try {
      const t = asTable(await ctx.client.get<unknown>(resource, name, { namespace: scope.namespace, accept: TABLE_ACCEPT, query: TABLE_QUERY }), resource);
      if (!combined) combined = t;
      else combined.rows.push(...t.rows);
    } catch (err) {
      if (!(scope.opts.ignoreNotFound && isNotFound(err))) scope.errors.push(err);
    }
  }
  return combined ?? { kind: 'Table', columnDefinitions: [], rows: [] };
}

async function fetchObjects(ctx: CliContext, r: ResolvedRequest, scope: Scope): Promise<{ items: KubeObject[]; resourceVersion?: string }> {
  const { resource } = r;
  if (r.names.length === 0) {
    const list = await ctx.client.list<KubeList>(resource, { namespace: scope.namespace, labelSelector: scope.opts.selector, fieldSelector: scope.opts.fieldSelector });
    return { items: list.items.map((o) => fillKind(o, resource)), resourceVersion: list.metadata?.resourceVersion };
  }
  const items: KubeObject[] = [];
  for (const name of r.names) {
    try {
      items.push(fillKind(await ctx.client.get<KubeObject>(resource, name, { namespace: scope.namespace }), resource));
    } catch (err) {
      if (!(scope.opts.ignoreNotFound && isNotFound(err))) scope.errors.push(err);
    }
  }
  return { items };
}

function noResourcesMessage(namespaced: boolean, namespace: string | undefined): string {
  return namespaced && namespace ? `No resources found in ${namespace} namespace.` : 'No resources found';
}

function viewFor(r: ResolvedRequest, opts: GetOptions, format: OutputFormat, multi: boolean): TableView {
  return {
    wide: format.kind === 'table' && format.wide,
    withNamespace: Boolean(opts.allNamespaces) && r.resource.namespaced,
    showLabels: Boolean(opts.showLabels),
    namePrefix: multi ? `${kindLabel(r.resource.kind, r.resource.group)}/` : undefined,
    withEventType: Boolean(opts.outputWatchEvents),
  };
}

export async function runGet(ctx: CliContext, args: string[], opts: GetOptions): Promise<void> {
  const format = parseOutputFormat(opts.output);
  const reqs = await resolveRequests(ctx, parseTypeArgs(args));
  if (opts.allNamespaces && reqs.some((r) => r.names.length)) throw new Error('a resource cannot be retrieved by name across all namespaces');
  const scope: Scope = { namespace: opts.allNamespaces ? undefined : ctx.namespace, opts, errors: [] };
  const noHeaders = opts.headers === false;

  if (opts.watch || opts.watchOnly) {
    if (reqs.length !== 1) throw new Error('you may only specify a single resource type with --watch');
    if (reqs[0].names.length > 1) throw new Error('you may only watch one object by name, or use a selector');
    await watchGet(ctx, reqs[0], scope, format);
    return;
  }

  const multi = reqs.length > 1;
  if (format.kind === 'table') {
    const blocks: string[] = [];
    for (const r of reqs) {
      const table = await fetchTable(ctx, r, scope);
      if (table.rows.length === 0) continue;
      const grid = tableGrid(table.columnDefinitions, table.rows, viewFor(r, opts, format, multi));
      blocks.push(renderLines(noHeaders ? grid.rows : [grid.header, ...grid.rows]));
    }
    process.stdout.write(blocks.join('\n'));
    const named = reqs.some((r) => r.names.length > 0);
    if (blocks.length === 0 && !named) process.stderr.write(noResourcesMessage(reqs[0]?.resource.namespaced ?? true, scope.namespace) + '\n');
  } else {
    const items: KubeObject[] = [];
    for (const r of reqs) items.push(...(await fetchObjects(ctx, r, scope)).items);
    const single = reqs.length === 1 && reqs[0].names.length === 1;
    // A named object that was not found prints nothing rather than an empty List.
    if (!(single && items.length === 0)) process.stdout.write(formatObjects(items, format, single, noHeaders));
  }
  for (const e of scope.errors) reportError(e);
}

/** One object as a watch prints it in a non-table format. */
function formatWatchedObject(obj: KubeObject, format: Exclude<OutputFormat, { kind: 'table' }>, first: boolean, noHeaders: boolean): string {
  switch (format.kind) {
    case 'yaml':
      return (first ? '' : '---\n') + toYaml(obj);
    case 'json':
      return toJson(obj);
    case 'name':
      return objectName(obj) + '\n';
    case 'jsonpath':
      return executeTemplate(format.template, obj);
    case 'custom-columns':
      return formatObjects([obj], format, false, noHeaders || !first);
  }
}

async function watchGet(ctx: CliContext, r: ResolvedRequest, scope: Scope, format: OutputFormat): Promise<void> {
  const { resource } = r;
  const opts = scope.opts;
  const nameSelector = r.names.length === 1 ? `metadata.name=${r.names[0]}` : undefined;
  const fieldSelector = [opts.fieldSelector, nameSelector].filter(Boolean).join(',') || undefined;
  const listScope: Scope = { ...scope, opts: { ...opts, fieldSelector } };
  // Always a list (a name becomes a field selector): a list carries the resourceVersion to watch from.
  const listRequest: ResolvedRequest = { resource, names: [] };
  const table = format.kind === 'table';
  const writer = new StreamingTable(opts.headers === false);
  const view = viewFor(r, opts, format, false);
  let columns: Table['columnDefinitions'] | undefined;
  let first = true;
  let resourceVersion: string | undefined;

  const printRows = (t: Table, types: string[]): void => {
    if (!columns?.length && t.columnDefinitions.length) columns = t.columnDefinitions;
    if (!columns || t.rows.length === 0) return;
    const grid = tableGrid(columns, t.rows, view, types);
    process.stdout.write(writer.write(grid.header, grid.rows));
  };

  if (table) {
    const t = await fetchTable(ctx, listRequest, listScope);
    resourceVersion = t.metadata?.resourceVersion;
    columns = t.columnDefinitions.length ? t.columnDefinitions : undefined;
    if (!opts.watchOnly) {
      if (t.rows.length === 0) process.stderr.write(noResourcesMessage(resource.namespaced, scope.namespace) + '\n');
      printRows(t, t.rows.map(() => 'ADDED'));
    }
  } else {
    const { items, resourceVersion: rv } = await fetchObjects(ctx, listRequest, listScope);
    resourceVersion = rv;
    if (!opts.watchOnly) {
      for (const o of items) {
        process.stdout.write(formatWatchedObject(o, format, first, opts.headers === false));
        first = false;
      }
    }
  }

  // The server ends a watch after its timeout; carry on from the last version seen.
  for (;;) {
    let sawEvent = false;
    for await (const ev of ctx.client.watch<unknown>(resource, {
      namespace: scope.namespace,
      labelSelector: opts.selector,
      fieldSelector,
      resourceVersion,
      accept: table ? TABLE_ACCEPT : undefined,
      query: table ? TABLE_QUERY : undefined,
    })) {
      sawEvent = true;
      if (ev.type === 'ERROR') throw ApiError.fromStatus(ev.object);
      if (table) {
        const t = asTable(ev.object, resource);
        const rv = t.rows[0]?.object?.metadata?.resourceVersion ?? t.metadata?.resourceVersion;
        if (rv) resourceVersion = rv;
        if (ev.type !== 'BOOKMARK') printRows(t, t.rows.map(() => ev.type));
      } else {
        const obj = fillKind(ev.object as KubeObject, resource);
        if (obj.metadata?.resourceVersion) resourceVersion = obj.metadata.resourceVersion;
        if (ev.type === 'BOOKMARK') continue;
        process.stdout.write(formatWatchedObject(obj, format as Exclude<OutputFormat, { kind: 'table' }>, first, opts.headers === false));
        first = false;
      }
    }
    // A server that closes at once must not turn this into a busy loop.
    if (!sawEvent) await new Promise((res) => setTimeout(res, 1000));
  }
}
