/**
 * Sample events, published from the writer's after-commit hook: a subscriber never hears of a
 * row a reader cannot see yet, and each event carries the row's ingest sequence number
 * (storage assigns it at insert) as its resume cursor. System samples go out one per row
 * (`metricCollected`); the other kinds one event per device and poll (all of a poll's
 * filesystems, interfaces, disks, drives or containers share its time). A row the database
 * already held (a replay after an outage) is not announced again.
 */
import type { EventBus, SamplesEvent, Topic } from '../events/index.ts';
import { toWire } from '../events/index.ts';
import { batchSequences, sequenceKey, type BatchSequences } from '../storage/index.ts';
import type { SampleBatch } from '../storage/types.ts';

type GroupedKind = Exclude<keyof SampleBatch, 'system'>;

const TOPIC = {
  filesystems: 'filesystemsCollected',
  networks: 'networkInterfacesCollected',
  diskIo: 'diskIoCollected',
  drives: 'drivesCollected',
  containers: 'containersCollected',
  pools: 'poolsCollected',
  sensors: 'sensorsCollected',
  gpus: 'gpusCollected',
} as const satisfies Record<GroupedKind, Topic>;

export function publishCommitted(events: EventBus, batch: SampleBatch): void {
  const seqs = batchSequences(batch);
  // A batch not written by storage's writeBatch (a test double) has no numbers: every row is announced, without a cursor.
  const seqOf = (kind: keyof SampleBatch, deviceId: string, time: Date): number | null | undefined => (seqs ? seqs[kind].get(sequenceKey(deviceId, time)) : null);
  // With no subscription open, no event is built: a copy of every row per event (toWire) was
  // 6 % of what the 1,000-device poller allocated, for nobody.
  if (events.listening('metricCollected')) publishSystem(events, batch, seqOf);
  for (const kind of Object.keys(TOPIC) as GroupedKind[]) if (events.listening(TOPIC[kind])) publishGrouped(events, kind, batch[kind], seqs);
}

function publishSystem(events: EventBus, batch: SampleBatch, seqOf: (kind: 'system', deviceId: string, time: Date) => number | null | undefined): void {
  for (const row of batch.system) {
    const seq = seqOf('system', row.deviceId, row.time);
    if (seq === undefined) continue;
    const sample = toWire(row);
    events.publish('metricCollected', seq === null ? { deviceId: row.deviceId, sample } : { deviceId: row.deviceId, sample: { ...sample, seq }, seq });
  }
}

function publishGrouped<K extends GroupedKind>(events: EventBus, kind: K, rows: SampleBatch[K], seqs: BatchSequences | undefined): void {
  if (rows.length === 0) return;
  const groups = new Map<string, SampleBatch[K][number][]>();
  for (const row of rows) {
    const key = sequenceKey(row.deviceId, row.time);
    const list = groups.get(key);
    if (list) list.push(row);
    else groups.set(key, [row]);
  }
  for (const [key, list] of groups) {
    const seq = seqs ? seqs[kind].get(key) : null;
    if (seq === undefined) continue;
    const first = list[0]!;
    const event: SamplesEvent<SampleBatch[K][number]> = { deviceId: first.deviceId, time: first.time.toISOString(), rows: list.map((r) => toWire(r)), ...(seq === null ? {} : { seq }) };
    (events.publish as (topic: Topic, payload: unknown) => void)(TOPIC[kind], event);
  }
}
