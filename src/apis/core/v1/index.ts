// core/v1: the Kubernetes core kinds Lodge serves.
import type { Schema } from '../../schema.js';
import type { ResourceType } from '../../types.js';
import { configMap, configMapDefinitions } from './configmap.js';
import { containerDefinitions } from './container.js';
import { endpoints, endpointsDefinitions } from './endpoints.js';
import { envDefinitions } from './env.js';
import { event, eventDefinitions } from './event.js';
import { namespace, namespaceDefinitions } from './namespace.js';
import { node, nodeDefinitions } from './node.js';
import { persistentVolumeClaim, pvcDefinitions } from './persistentvolumeclaim.js';
import { pod, podDefinitions } from './pod.js';
import { podSpecDefinitions } from './pod-spec.js';
import { podStatusDefinitions } from './pod-status.js';
import { probeDefinitions } from './probe.js';
import { referenceDefinitions } from './references.js';
import { resourceDefinitions } from './resources.js';
import { schedulingDefinitions } from './scheduling.js';
import { limitRange, limitRangeDefinitions } from './limitrange.js';
import { resourceQuota, resourceQuotaDefinitions } from './resourcequota.js';
import { secret, secretDefinitions } from './secret.js';
import { securityContextDefinitions } from './security-context.js';
import { service, serviceDefinitions } from './service.js';
import { volumeDefinitions } from './volume.js';

export const definitions: Record<string, Schema> = {
  ...referenceDefinitions,
  ...resourceDefinitions,
  ...envDefinitions,
  ...probeDefinitions,
  ...securityContextDefinitions,
  ...containerDefinitions,
  ...volumeDefinitions,
  ...schedulingDefinitions,
  ...podSpecDefinitions,
  ...podStatusDefinitions,
  ...podDefinitions,
  ...namespaceDefinitions,
  ...serviceDefinitions,
  ...endpointsDefinitions,
  ...configMapDefinitions,
  ...secretDefinitions,
  ...nodeDefinitions,
  ...eventDefinitions,
  ...pvcDefinitions,
  ...resourceQuotaDefinitions,
  ...limitRangeDefinitions,
};

export const kinds: ResourceType[] = [namespace, pod, service, endpoints, configMap, secret, node, event, persistentVolumeClaim, resourceQuota, limitRange];
