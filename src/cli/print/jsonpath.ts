// The subset of kubectl's JSONPath templates people actually use:
//   {.metadata.name}  {.items[*].metadata.name}  {.items[0]}  {.items[-1:]}
//   {.metadata.labels['app\.kubernetes\.io/name']}  {.metadata.labels.app\.kubernetes\.io/name}
//   {.status.conditions[?(@.type=="Ready")].status}  {..image}  {$.kind}
//   {range .items[*]}{.metadata.name}{"\t"}{.status.phase}{"\n"}{end}
// Like kubectl (allow-missing-template-keys), a path that matches nothing
// prints nothing; several matches print separated by spaces.

type Segment =
  | { kind: 'field'; name: string }
  | { kind: 'wildcard' }
  | { kind: 'recursive'; name: string | null } // ..name, or ..* (null)
  | { kind: 'index'; index: number }
  | { kind: 'slice'; start?: number; end?: number; step?: number }
  | { kind: 'filter'; left: Path; op?: FilterOp; right?: Operand };

type FilterOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
type Operand = { kind: 'literal'; value: unknown } | { kind: 'path'; path: Path };

interface Path {
  /** '$' starts at the document root, '@' (or a leading '.') at the current node. */
  root: '$' | '@';
  segments: Segment[];
}

type Node = { kind: 'text'; text: string } | { kind: 'path'; path: Path } | { kind: 'range'; path: Path; body: Node[] };

export class JsonPathError extends Error {
  constructor(message: string, template: string) {
    super(`jsonpath ${JSON.stringify(template)}: ${message}`);
    this.name = 'JsonPathError';
  }
}

// ---------- template: text, {expressions}, {range}…{end} ----------

/** Parse a template. A template without braces is taken as one expression, as `-o jsonpath=.a.b` users expect. */
export function parseTemplate(template: string): Node[] {
  const src = template.includes('{') ? template : `{${template}}`;
  const root: Node[] = [];
  const stack: Node[][] = [root];
  let i = 0;
  while (i < src.length) {
    const open = src.indexOf('{', i);
    if (open < 0) {
      stack[stack.length - 1].push({ kind: 'text', text: src.slice(i) });
      break;
    }
    if (open > i) stack[stack.length - 1].push({ kind: 'text', text: src.slice(i, open) });
    const close = findClose(src, open + 1);
    if (close < 0) throw new JsonPathError(`unclosed "{" at offset ${open}`, template);
    const expr = src.slice(open + 1, close).trim();
    i = close + 1;
    const top = stack[stack.length - 1];
    if (expr === 'end') {
      if (stack.length === 1) throw new JsonPathError('{end} without {range}', template);
      stack.pop();
    } else if (expr.startsWith('range ') || expr.startsWith('range\t')) {
      const body: Node[] = [];
      top.push({ kind: 'range', path: parsePath(expr.slice(6).trim(), template), body });
      stack.push(body);
    } else if (expr.startsWith('"') || expr.startsWith("'")) {
      top.push({ kind: 'text', text: parseStringLiteral(expr, template) });
    } else if (expr) {
      top.push({ kind: 'path', path: parsePath(expr, template) });
    }
  }
  if (stack.length > 1) throw new JsonPathError('{range} without {end}', template);
  return root;
}

/** The matching "}", skipping braces inside quotes (e.g. {"}"}). */
function findClose(src: string, from: number): number {
  let quote: string | null = null;
  for (let i = from; i < src.length; i++) {
    const c = src[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '}') return i;
  }
  return -1;
}

function parseStringLiteral(expr: string, template: string): string {
  const q = expr[0];
  if (expr.length < 2 || expr[expr.length - 1] !== q) throw new JsonPathError(`unterminated string ${expr}`, template);
  const body = expr.slice(1, -1);
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'" };
  return body.replace(/\\(.)/g, (_m, c: string) => escapes[c] ?? c);
}

// ---------- paths ----------

function parsePath(expr: string, template: string): Path {
  let i = 0;
  let root: Path['root'] = '@';
  if (expr[0] === '$' || expr[0] === '@') {
    root = expr[0] as Path['root'];
    i = 1;
  }
  const segments: Segment[] = [];
  const fail = (msg: string): never => {
    throw new JsonPathError(`${msg} in ${JSON.stringify(expr)}`, template);
  };
  const readName = (): string => {
    let name = '';
    while (i < expr.length && !'.[ )=!<>'.includes(expr[i])) {
      if (expr[i] === '\\' && i + 1 < expr.length) i++; // "\." keeps a dot in a key
      name += expr[i++];
    }
    return name;
  };
  while (i < expr.length) {
    const c = expr[i];
    if (c === '.') {
      if (expr[i + 1] === '.') {
        i += 2;
        if (expr[i] === '*') {
          i++;
          segments.push({ kind: 'recursive', name: null });
        } else segments.push({ kind: 'recursive', name: readName() || fail('expected a name after ".."') });
      } else {
        i++;
        if (expr[i] === '*') {
          i++;
          segments.push({ kind: 'wildcard' });
        } else if (i < expr.length && expr[i] !== '[') {
          segments.push({ kind: 'field', name: readName() || fail(`expected a name at offset ${i}`) });
        }
      }
    } else if (c === '[') {
      const close = bracketEnd(expr, i);
      if (close < 0) fail('unclosed "["');
      segments.push(parseBracket(expr.slice(i + 1, close).trim(), template));
      i = close + 1;
    } else if (c === ' ' || c === '\t') {
      i++;
    } else if (segments.length === 0 && root === '@' && i === 0) {
      // "metadata.name" without the leading dot
      segments.push({ kind: 'field', name: readName() });
    } else {
      fail(`unexpected "${c}" at offset ${i}`);
    }
  }
  return { root, segments };
}

function bracketEnd(expr: string, open: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = open; i < expr.length; i++) {
    const c = expr[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '(') depth++;
    else if (c === ']' || c === ')') {
      depth--;
      if (depth === 0 && c === ']') return i;
    }
  }
  return -1;
}

function parseBracket(inner: string, template: string): Segment {
  if (inner === '*') return { kind: 'wildcard' };
  if (/^'.*'$|^".*"$/s.test(inner)) return { kind: 'field', name: parseStringLiteral(inner, template) };
  if (inner.startsWith('?(') && inner.endsWith(')')) return parseFilter(inner.slice(2, -1).trim(), template);
  if (/^-?\d+$/.test(inner)) return { kind: 'index', index: Number(inner) };
  const slice = /^(-?\d*)\s*:\s*(-?\d*)(?:\s*:\s*(-?\d*))?$/.exec(inner);
  if (slice) {
    const num = (s: string | undefined): number | undefined => (s ? Number(s) : undefined);
    return { kind: 'slice', start: num(slice[1]), end: num(slice[2]), step: num(slice[3]) };
  }
  throw new JsonPathError(`unsupported subscript [${inner}]`, template);
}

function parseFilter(body: string, template: string): Segment {
  const m = /^(.*?)\s*(==|!=|<=|>=|<|>)\s*(.*)$/s.exec(body);
  if (!m) return { kind: 'filter', left: parsePath(body, template) };
  return { kind: 'filter', left: parsePath(m[1].trim(), template), op: m[2] as FilterOp, right: parseOperand(m[3].trim(), template) };
}

function parseOperand(s: string, template: string): Operand {
  if (s.startsWith('"') || s.startsWith("'")) return { kind: 'literal', value: parseStringLiteral(s, template) };
  if (s === 'true' || s === 'false') return { kind: 'literal', value: s === 'true' };
  if (s === 'null') return { kind: 'literal', value: null };
  if (s !== '' && !Number.isNaN(Number(s))) return { kind: 'literal', value: Number(s) };
  return { kind: 'path', path: parsePath(s, template) };
}

// ---------- evaluation ----------

function children(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (v !== null && typeof v === 'object') return Object.values(v);
  return [];
}

function descendants(v: unknown, out: unknown[]): void {
  for (const c of children(v)) {
    out.push(c);
    descendants(c, out);
  }
}

function normalizeIndex(i: number, len: number): number {
  return i < 0 ? len + i : i;
}

function applySegment(values: unknown[], seg: Segment, root: unknown): unknown[] {
  const out: unknown[] = [];
  for (const v of values) {
    switch (seg.kind) {
      case 'field':
        if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, seg.name)) {
          out.push((v as Record<string, unknown>)[seg.name]);
        }
        break;
      case 'wildcard':
        out.push(...children(v));
        break;
      case 'recursive': {
        const all: unknown[] = [v];
        descendants(v, all);
        if (seg.name === null) out.push(...all.slice(1));
        else out.push(...applySegment(all, { kind: 'field', name: seg.name }, root));
        break;
      }
      case 'index':
        if (Array.isArray(v)) {
          const i = normalizeIndex(seg.index, v.length);
          if (i >= 0 && i < v.length) out.push(v[i]);
        }
        break;
      case 'slice':
        if (Array.isArray(v)) {
          const step = seg.step ?? 1;
          if (step <= 0) break;
          const start = Math.max(0, normalizeIndex(seg.start ?? 0, v.length));
          const end = Math.min(v.length, seg.end === undefined ? v.length : normalizeIndex(seg.end, v.length));
          for (let i = start; i < end; i += step) out.push(v[i]);
        }
        break;
      case 'filter':
        for (const item of Array.isArray(v) ? v : children(v)) {
          if (filterMatches(item, seg, root)) out.push(item);
        }
        break;
    }
  }
  return out;
}

function evalPath(path: Path, current: unknown, root: unknown): unknown[] {
  let values = [path.root === '$' ? root : current];
  for (const seg of path.segments) values = applySegment(values, seg, root);
  return values;
}

function filterMatches(item: unknown, seg: Extract<Segment, { kind: 'filter' }>, root: unknown): boolean {
  const left = evalPath(seg.left, item, root);
  if (!seg.op || !seg.right) return left.length > 0 && left[0] !== null && left[0] !== false;
  if (left.length === 0) return false;
  const right = seg.right.kind === 'literal' ? [seg.right.value] : evalPath(seg.right.path, item, root);
  if (right.length === 0) return false;
  const a = left[0];
  const b = right[0];
  switch (seg.op) {
    case '==':
      return JSON.stringify(a) === JSON.stringify(b);
    case '!=':
      return JSON.stringify(a) !== JSON.stringify(b);
    default: {
      if (typeof a === 'number' && typeof b === 'number') return compare(a, b, seg.op);
      if (typeof a === 'string' && typeof b === 'string') return compare(a.localeCompare(b), 0, seg.op);
      return false;
    }
  }
}

function compare(a: number, b: number, op: FilterOp): boolean {
  switch (op) {
    case '<': return a < b;
    case '<=': return a <= b;
    case '>': return a > b;
    case '>=': return a >= b;
    default: return false;
  }
}

/** How kubectl prints one value: strings raw, everything else as JSON. */
export function formatValue(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined) return '';
  return JSON.stringify(v);
}

function render(nodes: Node[], current: unknown, root: unknown): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'path') out += evalPath(n.path, current, root).map(formatValue).join(' ');
    else for (const item of evalPath(n.path, current, root).flatMap((v) => (Array.isArray(v) ? v : [v]))) out += render(n.body, item, root);
  }
  return out;
}

/** Evaluate a template against a document. */
export function executeTemplate(template: string, data: unknown): string {
  return render(parseTemplate(template), data, data);
}

/** The values one path expression (with or without braces) selects; for custom columns. */
export function selectValues(expr: string, data: unknown): unknown[] {
  const inner = expr.trim().replace(/^\{(.*)\}$/s, '$1');
  return evalPath(parsePath(inner, expr), data, data);
}
