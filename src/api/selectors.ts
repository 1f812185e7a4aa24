// Label and field selectors, parsed and matched the way the Kubernetes API
// server does it, so `kubectl get -l ...` / `--field-selector ...` and client
// libraries see the same results and the same errors as against a real cluster.
import type { KubeObject, ResourceType } from '../apis/types.js';

/** A selector the API rejects; the server answers 400 BadRequest with the message. */
export class SelectorError extends Error {
  override name = 'SelectorError';
}

// ---------------------------------------------------------------- labels

export type LabelOperator = 'in' | 'notin' | '=' | '==' | '!=' | 'exists' | '!' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  values: string[];
}

export type Labels = Record<string, string> | undefined | null;

/** A compiled label selector: call it with an object's labels. */
export interface LabelMatcher {
  (labels: Labels): boolean;
  /** Requirements ANDed, sorted by key; empty means "everything". */
  readonly requirements: readonly LabelRequirement[];
  /** True when the selector matches nothing at all (a nil LabelSelector). */
  readonly nothing: boolean;
}

export interface LabelSelectorRequirementObject {
  key: string;
  operator: string;
  values?: string[];
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: LabelSelectorRequirementObject[] | null;
}

const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Problems with a label key ("prefix/name"), empty when valid. */
export function labelKeyErrors(key: string): string[] {
  const parts = key.split('/');
  let name = key;
  const errs: string[] = [];
  if (parts.length > 2) {
    return ["a qualified name must be a name part with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"];
  }
  if (parts.length === 2) {
    const [prefix, rest] = parts as [string, string];
    name = rest;
    if (!prefix) errs.push('prefix part must be non-empty');
    else if (prefix.length > 253) errs.push('prefix part must be no more than 253 characters');
    else if (!DNS1123_SUBDOMAIN.test(prefix)) errs.push("prefix part must be a lowercase RFC 1123 subdomain: lowercase alphanumerics, '-' and '.', starting and ending with an alphanumeric");
  }
  if (!name) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  else if (!NAME_PART.test(name)) errs.push("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
  return errs;
}

/** Problems with a label value, empty when valid. */
export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!LABEL_VALUE.test(value)) errs.push("a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
  return errs;
}

// Paths in messages follow apimachinery's field paths, so errors read the same
// as the real server's ("<nil>: Invalid value: ...", "values[0][key]: ...").
function invalid(path: string, value: unknown, detail: string): string {
  return `${path}: Invalid value: ${JSON.stringify(value)}: ${detail}`;
}

function validateRequirement(r: LabelRequirement): string[] {
  const errs: string[] = [];
  const keyErrs = labelKeyErrors(r.key);
  if (keyErrs.length) errs.push(invalid('key', r.key, keyErrs.join('; ')));
  switch (r.operator) {
    case 'in':
    case 'notin':
      if (r.values.length === 0) errs.push(invalid('values', r.values, "for 'in', 'notin' operators, values set can't be empty"));
      break;
    case '=':
    case '==':
    case '!=':
      if (r.values.length !== 1) errs.push(invalid('values', r.values, 'exact-match compatibility requires one single value'));
      break;
    case 'exists':
    case '!':
      if (r.values.length !== 0) errs.push(invalid('values', r.values, 'values set must be empty for exists and does not exist'));
      break;
    case 'gt':
    case 'lt':
      if (r.values.length !== 1) errs.push(invalid('values', r.values, "for 'Gt', 'Lt' operators, exactly one value is required"));
      r.values.forEach((v, i) => {
        if (!/^[+-]?\d+$/.test(v)) errs.push(invalid(`values[${i}]`, v, "for 'Gt', 'Lt' operators, the value must be an integer"));
      });
      break;
  }
  r.values.forEach((v, i) => {
    const e = labelValueErrors(v);
    if (e.length) errs.push(invalid(`values[${i}][${r.key}]`, v, e.join('; ')));
  });
  return errs;
}

function requirementMatches(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const val = has ? labels[r.key] : undefined;
  switch (r.operator) {
    case 'in':
    case '=':
    case '==':
      return has && r.values.includes(val as string);
    case 'notin':
    case '!=':
      return !has || !r.values.includes(val as string);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || !/^[+-]?\d+$/.test(val as string)) return false;
      const lhs = BigInt(val as string);
      const rhs = BigInt(r.values[0] as string);
      return r.operator === 'gt' ? lhs > rhs : lhs < rhs;
    }
  }
}

function compile(requirements: LabelRequirement[], nothing = false): LabelMatcher {
  const sorted = [...requirements].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const fn = (labels: Labels): boolean => !nothing && sorted.every((r) => requirementMatches(r, labels ?? {}));
  return Object.assign(fn, { requirements: sorted, nothing });
}

// --- the string syntax: a lexer and recursive-descent parser shaped like
// apimachinery's, because its quirks are part of the API (`in` is a keyword
// only in operator position, `x in ()` means the empty value, `a=` is "a is empty").

type Tok = 'ident' | 'end' | 'error' | ')' | ',' | '!' | '==' | '=' | '>' | '<' | '!=' | 'in' | 'notin' | '(';

const SYMBOLS: Record<string, Tok> = { ')': ')', ',': ',', '!': '!', '==': '==', '=': '=', '>': '>', '<': '<', '!=': '!=', '(': '(' };
const KEYWORDS: Record<string, Tok> = { in: 'in', notin: 'notin' };
const isSpecial = (c: string): boolean => '=!(),><'.includes(c);
const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';

function lex(s: string): Array<{ tok: Tok; lit: string }> {
  const out: Array<{ tok: Tok; lit: string }> = [];
  let i = 0;
  for (;;) {
    while (i < s.length && isSpace(s[i] as string)) i++;
    if (i >= s.length) {
      out.push({ tok: 'end', lit: '' });
      return out;
    }
    if (isSpecial(s[i] as string)) {
      // Longest run of symbol characters that is still an operator.
      let buf = '';
      let best: { tok: Tok; lit: string } | undefined;
      while (i < s.length && isSpecial(s[i] as string)) {
        const next = buf + s[i];
        if (SYMBOLS[next]) {
          best = { tok: SYMBOLS[next] as Tok, lit: next };
        } else if (best) {
          break;
        }
        buf = next;
        i++;
      }
      out.push(best ?? { tok: 'error', lit: `error expected: keyword found '${buf}'` });
      if (!best) return [...out, { tok: 'end', lit: '' }];
      continue;
    }
    let buf = '';
    while (i < s.length && !isSpecial(s[i] as string) && !isSpace(s[i] as string)) buf += s[i++];
    out.push({ tok: KEYWORDS[buf] ?? 'ident', lit: buf });
  }
}

class LabelParser {
  private pos = 0;
  constructor(private readonly items: Array<{ tok: Tok; lit: string }>) {}

  /** In value position `in`/`notin` are plain identifiers. */
  private peek(values = true): { tok: Tok; lit: string } {
    const it = this.items[this.pos] ?? { tok: 'end' as Tok, lit: '' };
    return values && (it.tok === 'in' || it.tok === 'notin') ? { tok: 'ident', lit: it.lit } : it;
  }
  private next(values = true): { tok: Tok; lit: string } {
    const it = this.peek(values);
    this.pos++;
    return it;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.peek();
      if (tok === 'end') return reqs;
      if (tok !== 'ident' && tok !== '!') throw new SelectorError(`found '${lit}', expected: !, identifier, or 'end of string'`);
      try {
        reqs.push(this.requirement());
      } catch (e) {
        if (e instanceof SelectorError) throw new SelectorError(`unable to parse requirement: ${e.message}`);
        throw e;
      }
      const after = this.next();
      if (after.tok === 'end') return reqs;
      if (after.tok !== ',') throw new SelectorError(`found '${after.lit}', expected: ',' or 'end of string'`);
      const t2 = this.peek();
      if (t2.tok !== 'ident' && t2.tok !== '!') throw new SelectorError(`found '${t2.lit}', expected: identifier after ','`);
    }
  }

  private requirement(): LabelRequirement {
    let operator: LabelOperator | undefined;
    let t = this.next();
    if (t.tok === '!') {
      operator = '!';
      t = this.next();
    }
    if (t.tok !== 'ident') throw new SelectorError(`found '${t.lit}', expected: identifier`);
    const key = t.lit;
    const keyErrs = labelKeyErrors(key);
    if (keyErrs.length) throw new SelectorError(invalid('<nil>', key, keyErrs.join('; ')));
    const la = this.peek().tok;
    if (operator === '!' || la === 'end' || la === ',') return this.checked({ key, operator: operator ?? 'exists', values: [] });
    const op = this.next(false);
    let values: string[];
    switch (op.tok) {
      case 'in':
      case 'notin':
        operator = op.tok;
        values = this.valueSet();
        break;
      case '=':
      case '==':
      case '!=':
        operator = op.tok;
        values = this.exactValue();
        break;
      case '>':
        operator = 'gt';
        values = this.exactValue();
        break;
      case '<':
        operator = 'lt';
        values = this.exactValue();
        break;
      default:
        throw new SelectorError(`found '${op.lit}', expected: in, notin, =, ==, !=, gt, lt`);
    }
    return this.checked({ key, operator, values });
  }

  private checked(r: LabelRequirement): LabelRequirement {
    const errs = validateRequirement(r);
    if (errs.length === 1) throw new SelectorError(errs[0] as string);
    if (errs.length > 1) throw new SelectorError(`[${errs.join(', ')}]`);
    return r;
  }

  private exactValue(): string[] {
    const la = this.peek();
    if (la.tok === 'end' || la.tok === ',') return [''];
    const t = this.next();
    if (t.tok !== 'ident') throw new SelectorError(`found '${t.lit}', expected: identifier`);
    return [t.lit];
  }

  private valueSet(): string[] {
    const open = this.next();
    if (open.tok !== '(') throw new SelectorError(`found '${open.lit}' expected: '('`);
    const first = this.peek();
    if (first.tok === ')') {
      this.next();
      return [''];
    }
    if (first.tok !== 'ident' && first.tok !== ',') throw new SelectorError(`found '${first.lit}', expected: ',', ')' or identifier`);
    // Empty entries ("(a,,b)", "(,a)") stand for the empty value, as upstream.
    const set = new Set<string>();
    for (;;) {
      const t = this.next();
      if (t.tok === 'ident') {
        set.add(t.lit);
        const n = this.peek();
        if (n.tok === ',') continue;
        if (n.tok === ')') break;
        throw new SelectorError(`found '${n.lit}', expected: ',' or ')'`);
      } else if (t.tok === ',') {
        if (set.size === 0) set.add('');
        const n = this.peek().tok;
        if (n === ')') {
          set.add('');
          break;
        }
        if (n === ',') set.add('');
      } else {
        throw new SelectorError(`found '${t.lit}', expected: ',', or identifier`);
      }
    }
    this.next(); // ')'
    return [...set].sort();
  }
}

/** Parse the requirements of a label selector string ("app=web,tier in (a,b),!canary"). */
export function parseLabelRequirements(selector: string): LabelRequirement[] {
  return new LabelParser(lex(selector)).parse();
}

/** Compile a label selector string; throws SelectorError for bad syntax or invalid keys/values. */
export function parseLabelSelector(selector: string): LabelMatcher {
  return compile(parseLabelRequirements(selector));
}

const OBJECT_OPERATORS: Record<string, LabelOperator> = { In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: '!' };

/**
 * Compile a metav1.LabelSelector. As in Kubernetes, a missing (null/undefined)
 * selector matches nothing while an empty one ({}) matches everything.
 */
export function labelSelectorFromObject(sel: LabelSelectorObject | null | undefined): LabelMatcher {
  if (sel === null || sel === undefined) return compile([], true);
  const reqs: LabelRequirement[] = [];
  for (const [key, value] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key, operator: '=', values: [value] });
  for (const expr of sel.matchExpressions ?? []) {
    const operator = OBJECT_OPERATORS[expr.operator];
    if (!operator) throw new SelectorError(`${JSON.stringify(expr.operator)} is not a valid label selector operator`);
    reqs.push({ key: expr.key, operator, values: [...(expr.values ?? [])] });
  }
  for (const r of reqs) {
    const errs = validateRequirement(r);
    if (errs.length) throw new SelectorError(errs.join('; '));
  }
  return compile(reqs);
}

function requirementToString(r: LabelRequirement): string {
  const vals = [...r.values].sort();
  switch (r.operator) {
    case 'exists':
      return r.key;
    case '!':
      return `!${r.key}`;
    case 'in':
      return `${r.key} in (${vals.join(',')})`;
    case 'notin':
      return `${r.key} notin (${vals.join(',')})`;
    case 'gt':
      return `${r.key}>${vals[0]}`;
    case 'lt':
      return `${r.key}<${vals[0]}`;
    default:
      return `${r.key}${r.operator}${vals[0]}`;
  }
}

/**
 * The string form of a selector (object form or requirements), as used in
 * `?labelSelector=` and Scale's status.selector. Requirements sort by key so
 * the same selector always prints the same. '' for an empty (or nil) selector.
 */
export function labelSelectorToString(sel: LabelSelectorObject | readonly LabelRequirement[] | null | undefined): string {
  if (!sel) return '';
  const reqs = Array.isArray(sel) ? (sel as readonly LabelRequirement[]) : labelSelectorFromObject(sel as LabelSelectorObject).requirements;
  return [...reqs]
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(requirementToString)
    .join(',');
}

// ---------------------------------------------------------------- fields

export interface FieldRequirement {
  field: string;
  operator: '=' | '!=';
  value: string;
}

/** A compiled field selector: call it with an object. */
export interface FieldMatcher {
  (obj: KubeObject): boolean;
  readonly requirements: readonly FieldRequirement[];
}

/** Split on commas that are not escaped with a backslash. */
function splitTerms(s: string): string[] {
  const terms: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[++i];
    } else if (c === ',') {
      terms.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  terms.push(cur);
  return terms;
}

function unescapeValue(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i] as string;
    if (c === '\\') {
      const n = v[i + 1];
      if (n !== '\\' && n !== ',' && n !== '=') throw new SelectorError(`invalid field selector: invalid escape sequence: \\${n ?? ''}`);
      out += n;
      i++;
    } else if (c === ',' || c === '=') {
      throw new SelectorError(`invalid field selector: unescaped character in value: ${c}`);
    } else {
      out += c;
    }
  }
  return out;
}

/** The fields a kind can be selected by, each read from an object as a string. */
export function selectableFields(rt: Pick<ResourceType, 'selectableFields'>): Record<string, (obj: KubeObject) => string | undefined> {
  return {
    'metadata.name': (o) => o.metadata?.name,
    'metadata.namespace': (o) => o.metadata?.namespace,
    ...(rt.selectableFields ?? {}),
  };
}

/** Parse field requirements ("metadata.name=foo,status.phase!=Running") for a kind. */
export function parseFieldRequirements(selector: string, rt: Pick<ResourceType, 'selectableFields'>): FieldRequirement[] {
  const fields = selectableFields(rt);
  const reqs: FieldRequirement[] = [];
  for (const term of splitTerms(selector).sort()) {
    if (term === '') continue;
    // The first operator from the left splits the term; '!=' and '==' win over '='.
    let split: FieldRequirement | undefined;
    for (let i = 0; i < term.length && !split; i++) {
      for (const op of ['!=', '==', '='] as const) {
        if (term.startsWith(op, i)) {
          split = { field: term.slice(0, i).trim(), operator: op === '!=' ? '!=' : '=', value: unescapeValue(term.slice(i + op.length)) };
          break;
        }
      }
    }
    if (!split) throw new SelectorError(`invalid selector: '${selector}'; can't understand '${term}'`);
    if (!Object.prototype.hasOwnProperty.call(fields, split.field)) throw new SelectorError(`field label not supported: ${split.field}`);
    reqs.push(split);
  }
  return reqs;
}

/**
 * Compile a field selector for a kind. Allowed fields are metadata.name,
 * metadata.namespace and the kind's selectableFields; anything else throws
 * SelectorError("field label not supported: X"), which the server turns into 400.
 * A field the object lacks reads as "" (so `spec.nodeName=` finds unscheduled pods).
 */
export function parseFieldSelector(selector: string, rt: Pick<ResourceType, 'selectableFields'>): FieldMatcher {
  const fields = selectableFields(rt);
  const reqs = parseFieldRequirements(selector, rt);
  const fn = (obj: KubeObject): boolean =>
    reqs.every((r) => {
      const actual = (fields[r.field] as (o: KubeObject) => string | undefined)(obj) ?? '';
      return r.operator === '=' ? actual === r.value : actual !== r.value;
    });
  return Object.assign(fn, { requirements: reqs });
}

/** The value a selector pins a field to (e.g. metadata.name for a single-object watch), if any. */
export function exactFieldValue(reqs: readonly FieldRequirement[], field: string): string | undefined {
  return reqs.find((r) => r.field === field && r.operator === '=')?.value;
}
