// Server-side views a client can ask for in its Accept header: Table (what
// kubectl get prints) and PartialObjectMetadata (metadata-only informers).
import type { KubeObject, ResourceType } from '../../apis/types.js';
import { negotiateTable, toPartialObjectMetadata, toPartialObjectMetadataList, toTable, type IncludeObject, type ListMetaLike, type MetaView, type MetaVersion } from '../table.js';
import { badRequest, notAcceptable } from '../status.js';
import type { ApiRequest } from './body.js';

export interface ViewRequest {
  as: MetaView;
  version: MetaVersion;
  includeObject: IncludeObject;
}

export function tableRequest(req: ApiRequest, q?: URLSearchParams): ViewRequest | undefined {
  const f = negotiateTable(String(req.headers.accept ?? ''));
  if (!f.as) return undefined;
  const inc = q?.get('includeObject') || 'Metadata';
  if (inc !== 'None' && inc !== 'Metadata' && inc !== 'Object') throw badRequest(`includeObject must be None, Metadata or Object, not ${JSON.stringify(inc)}`);
  return { as: f.as, version: f.version, includeObject: inc };
}

/** Render objects in the requested view; `single` for a GET of one object or one watch event. */
export function tableFor(rt: ResourceType, objs: KubeObject[], v: ViewRequest, meta: ListMetaLike, single = false): object {
  switch (v.as) {
    case 'Table':
      return toTable(rt, objs, { includeObject: v.includeObject, listMeta: meta, version: v.version });
    case 'PartialObjectMetadata':
      if (!single) throw notAcceptable('PartialObjectMetadata is only served for a single object; ask for PartialObjectMetadataList');
      return toPartialObjectMetadata(objs[0], v.version);
    case 'PartialObjectMetadataList':
      if (single) throw notAcceptable('PartialObjectMetadataList is only served for lists; ask for PartialObjectMetadata');
      return toPartialObjectMetadataList(objs, meta, v.version);
  }
}
