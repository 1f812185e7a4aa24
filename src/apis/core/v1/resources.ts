// Compute resource requests and limits.
import { mapOf, obj, quantity, str, enumOf, type Schema } from '../../schema.js';
import { atomicList, core, coreRef, keyedList } from './names.js';

export const resourceList = (description: string): Schema => mapOf(quantity(), description);

export const resourceDefinitions: Record<string, Schema> = {
  [core('ResourceClaim')]: obj(
    {
      name: str('Name of an entry in the pod\'s spec.resourceClaims whose resources this container may use.'),
      request: str('Only the named request of that claim; empty for the whole claim.'),
    },
    { required: ['name'], description: 'A dynamically allocated resource a container uses.' },
  ),
  [core('ResourceRequirements')]: obj(
    {
      limits: resourceList('Most of each resource the container may use (e.g. cpu: "2", memory: 1Gi).'),
      requests: resourceList('Resources set aside for the container when scheduling; default to the limits when only those are given.'),
      claims: keyedList(coreRef('ResourceClaim'), ['name'], 'Dynamically allocated resources (from spec.resourceClaims) this container uses.'),
    },
    { description: 'Compute resources a container (or pod) requests and may use at most.' },
  ),
  [core('VolumeResourceRequirements')]: obj(
    {
      limits: resourceList('Most storage the volume may use.'),
      requests: resourceList('Storage the claim asks for, e.g. storage: 10Gi.'),
    },
    { description: 'Storage resources a volume claim asks for.' },
  ),
  [core('ContainerResizePolicy')]: obj(
    {
      resourceName: str('The resource this policy is for: cpu or memory.'),
      restartPolicy: enumOf(['NotRequired', 'RestartContainer'], 'Whether changing the resource in place needs a container restart.'),
    },
    { required: ['resourceName', 'restartPolicy'], description: 'How a container reacts to an in-place resize of one resource.' },
  ),
};

export const resizePolicyList = (): Schema => atomicList(coreRef('ContainerResizePolicy'), 'How each resource may be resized in place.');
