// Parse an API path into what it addresses. Kubernetes' URL grammar:
//   /api/v1[/namespaces/NS]/PLURAL[/NAME[/SUBRESOURCE]]
//   /apis/GROUP/VERSION[/namespaces/NS]/PLURAL[/NAME[/SUBRESOURCE]]
//   /api/v1/watch/... (legacy watch paths)
import type { Registry } from '../../apis/registry.js';
import type { ResourceType } from '../../apis/types.js';
import { badRequest } from '../status.js';

export interface ResourceRoute {
  rt: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** A legacy /watch/ path. */
  legacyWatch: boolean;
}

export type Route =
  | { kind: 'resource'; route: ResourceRoute }
  | { kind: 'groupVersion'; group: string; version: string }
  | { kind: 'group'; group: string }
  | { kind: 'unknownResource'; group: string; version: string; resource: string }
  | { kind: 'other' };

/** A path segment, percent-decoded; a malformed escape is the client's error (400), not ours. */
function decodeSegment(seg: string): string {
  try {
    return decodeURIComponent(seg);
  } catch {
    throw badRequest(`the request path has a malformed percent-encoding: ${JSON.stringify(seg)}`);
  }
}

export function parseRoute(registry: Registry, path: string): Route {
  const segs = path.split('/').filter(Boolean).map(decodeSegment);
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api') {
    if (segs.length < 2) return { kind: 'other' };
    group = '';
    version = segs[1];
    rest = segs.slice(2);
  } else if (segs[0] === 'apis') {
    if (segs.length === 2) return { kind: 'group', group: segs[1] };
    if (segs.length < 3) return { kind: 'other' };
    group = segs[1];
    version = segs[2];
    rest = segs.slice(3);
  } else return { kind: 'other' };
  if (rest.length === 0) return { kind: 'groupVersion', group, version };
  let legacyWatch = false;
  if (rest[0] === 'watch') {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  // namespaces/NS/PLURAL... addresses a namespaced collection; namespaces/NAME[/sub] is the Namespace itself.
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const candidate = registry.resource(group, version, rest[2]);
    if (candidate?.namespaced) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
  }
  const rt = registry.resource(group, version, rest[0]);
  if (!rt) return { kind: 'unknownResource', group, version, resource: rest[0] };
  if (rest.length > 3) return { kind: 'unknownResource', group, version, resource: rest.join('/') };
  return { kind: 'resource', route: { rt, namespace, name: rest[1], subresource: rest[2], legacyWatch } };
}
