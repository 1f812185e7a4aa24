// The Deployment as the controller reads it (apps/v1 declares the schema; this is its TypeScript view).
import type { Workload, WorkloadSpec, WorkloadStatus } from '../../apis/apps/v1/workload.js';
import type { Condition } from '../../apis/core/v1/types.js';

export type DeploymentCondition = Condition & { lastUpdateTime?: string };

export type DeploymentObject = Workload<
  WorkloadSpec & {
    strategy?: { type?: string; rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string } };
    revisionHistoryLimit?: number;
    progressDeadlineSeconds?: number;
    paused?: boolean;
  }
> & { status?: WorkloadStatus & { collisionCount?: number; conditions?: DeploymentCondition[] } };
