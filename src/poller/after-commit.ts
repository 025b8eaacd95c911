/**
 * The one "after commit" path: what happens to a batch of samples once it is in the database,
 * whether it was written as polled or replayed from the spool after an outage (writer.ts
 * `onCommitted`). Subscribers hear about every stored sample, then the alert evaluator gets the
 * batch (it skips samples too old to act on, by their own time: docs/alerting.md). Every sample
 * event is published here (publish.ts) and nowhere else, so a replay announces exactly what a live write
 * would have; change events that compare two polls (container state, drive health) stay in
 * poll-device.ts, which knows the previous poll.
 */
import type { EventBus } from '../events/index.ts';
import type { SampleBatch } from '../storage/types.ts';
import { publishCommitted } from './publish.ts';
import type { CommitOrigin } from './writer.ts';

export interface AfterCommitDeps {
  events: EventBus;
  /** Alert evaluation (queues and returns at once). */
  onBatchWritten?: (batch: SampleBatch) => void;
}

export type AfterCommit = (batch: SampleBatch, origin: CommitOrigin) => void;

export function createAfterCommit(deps: AfterCommitDeps): AfterCommit {
  return (batch) => {
    publishCommitted(deps.events, batch);
    deps.onBatchWritten?.(batch);
  };
}
