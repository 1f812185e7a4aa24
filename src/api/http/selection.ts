// labelSelector / fieldSelector query parameters → one object matcher.
import type { KubeObject, ResourceType } from '../../apis/types.js';
import { SelectorError, parseFieldSelector, parseLabelSelector } from '../selectors.js';
import { badRequest } from '../status.js';

/**
 * The matcher for a request's selectors, or undefined when it selects
 * everything. `name` (a watch on one object) adds metadata.name=NAME.
 */
export function compileSelectors(rt: ResourceType, q: URLSearchParams, name?: string): ((obj: KubeObject) => boolean) | undefined {
  const label = q.get('labelSelector') ?? '';
  let field = q.get('fieldSelector') ?? '';
  if (name) field = field ? `${field},metadata.name=${name}` : `metadata.name=${name}`;
  try {
    const lm = label.trim() ? parseLabelSelector(label) : undefined;
    const fm = field.trim() ? parseFieldSelector(field, rt) : undefined;
    if (lm && fm) return (o) => lm(o.metadata.labels) && fm(o);
    if (lm) return (o) => lm(o.metadata.labels);
    return fm;
  } catch (e) {
    if (e instanceof SelectorError) throw badRequest(e.message);
    throw e;
  }
}
