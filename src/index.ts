export { Oban, type ObanOptions, type JobEvent, type LogEvent } from "./runtime/oban.js";
export {
  defineWorker, job, snooze, cancel, discard, record, registeredWorkers,
  type Worker, type WorkerOptions, type PerformContext, type EnqueueOptions, type EnqueuedJob, type JobResult, type Args,
} from "./worker.js";
export {
  UNIQUE_FIELDS, UNIQUE_STATE_GROUPS, type UniqueOptions, type UniqueField, type UniqueStateGroup,
} from "./engine/unique-options.js";
export { JOB_STATES, type Job, type JobState, type JobError } from "./engine/job.js";
export { backoffSeconds } from "./engine/backoff.js";
export { ObanError, type ObanErrorCode } from "./errors.js";
export { getJob } from "./engine/jobs.js";
export { type CronEntry } from "./cron/crontab.js";
export { parseExpression, type CronExpression } from "./cron/expression.js";
