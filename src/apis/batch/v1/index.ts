// batch/v1: Jobs and CronJobs.
import type { Schema } from '../../schema.js';
import type { ResourceType } from '../../types.js';
import { cronJob, cronJobDefinitions } from './cronjob.js';
import { job, jobDefinitions } from './job.js';

export const definitions: Record<string, Schema> = { ...jobDefinitions, ...cronJobDefinitions };
export const kinds: ResourceType[] = [job, cronJob];
