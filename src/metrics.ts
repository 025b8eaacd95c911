/**
 * Prometheus metrics (prom-client's default registry, served on /metrics by server.ts).
 *
 * Counters and histograms are fed where things happen: the poller's observer hooks
 * (`pollerObserver`), the event bus (`eventPublished`), the GraphQL plugin
 * (`observabilityPlugin`). Gauges are read at scrape time from the sources attached with
 * `attachMetrics` (the poller's stats(), the subscriber counts), so they cost nothing between
 * scrapes. Metrics are registered once per process; several apps in one process (tests) add
 * their sources up.
 *
 * Label values are bounded: collectors, statuses, topics, transports and error kinds are
 * enums; GraphQL operation names come from clients, so they are checked, capped in length and
 * in number (past MAX_OPERATION_NAMES distinct names, new ones count as "other").
 */
import { randomBytes } from 'node:crypto';
import type { OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import client from 'prom-client';
import type { CollectorName } from './collectors/types.ts';
import type { Topic } from './events/index.ts';
import type { Logger } from './log.ts';
import type { PollerObserver, PollerStats } from './poller/index.ts';
import { DEVICE_STATUSES } from './poller/status.ts';

export const MAX_OPERATION_NAMES = 200;

export interface MetricsSource {
  /** The poller's stats (absent when polling is off). */
  poller?: () => PollerStats | undefined;
  subscribers: { ws: number; sse: number };
}

/** Transports as the delivery counters name them. */
export type StreamTransport = 'ws' | 'graphql-sse' | 'yoga-sse';

const subscriptionSources = new Set<() => { groups: number; members: number }>();

/** Registers a server's subscription counts (groups and members) as scrape-time gauges; returns its removal. */
export function attachSubscriptionStats(stats: () => { groups: number; members: number }): () => void {
  metrics();
  subscriptionSources.add(stats);
  return () => subscriptionSources.delete(stats);
}

const sources = new Set<MetricsSource>();

/** Registers a source of scrape-time gauges; returns its removal. */
export function attachMetrics(source: MetricsSource): () => void {
  metrics();
  sources.add(source);
  return () => sources.delete(source);
}

function pollerStats(): PollerStats[] {
  const out: PollerStats[] = [];
  for (const s of sources) {
    try {
      const st = s.poller?.();
      if (st) out.push(st);
    } catch {
      // A stopping poller: its gauges are simply absent from this scrape.
    }
  }
  return out;
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

function create() {
  const register = client.register;
  client.collectDefaultMetrics({ register });

  const pollerGauge = (name: string, help: string, pick: (s: PollerStats) => number) =>
    new client.Gauge({
      name,
      help,
      registers: [register],
      collect() {
        this.set(sum(pollerStats().map(pick)));
      },
    });

  const m = {
    pollDuration: new client.Histogram({
      name: 'infrapulse_poll_duration_seconds',
      help: 'Duration of one collector run on one device (command, transfer, parse)',
      labelNames: ['collector'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [register],
    }),
    pollLateness: new client.Histogram({
      name: 'infrapulse_poll_lateness_seconds',
      help: 'How long after its slot a scheduled collector poll started (tick, waiting for a concurrency slot, a busy event loop)',
      labelNames: ['collector'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers: [register],
    }),
    pollOutcomes: new client.Counter({
      name: 'infrapulse_polls_total',
      help: 'Collector runs by outcome; error_kind is the transport error (CONNECT, AUTH, TIMEOUT…) or the collector reason (BAD_OUTPUT…), empty when ok',
      labelNames: ['collector', 'outcome', 'error_kind'] as const,
      registers: [register],
    }),
    devicePolls: new client.Counter({
      name: 'infrapulse_device_polls_total',
      help: 'Device polls (one or more collectors in one visit)',
      registers: [register],
    }),
    writeRows: new client.Histogram({
      name: 'infrapulse_write_batch_rows',
      help: 'Rows per coalesced write to the time-series tables',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
      registers: [register],
    }),
    writeDuration: new client.Histogram({
      name: 'infrapulse_write_duration_seconds',
      help: 'Duration of one coalesced write, by result (ok, error)',
      labelNames: ['result'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [register],
    }),
    eventsPublished: new client.Counter({
      name: 'infrapulse_events_published_total',
      help: 'Events published on the pub/sub bus, by topic',
      labelNames: ['topic'] as const,
      registers: [register],
    }),
    cutOff: new client.Counter({
      name: 'infrapulse_subscribers_cut_off_total',
      help: 'Connections closed because their outgoing buffer passed SUBSCRIBER_MAX_BUFFER_BYTES (slow consumers), by transport',
      labelNames: ['transport'] as const,
      registers: [register],
    }),
    deadPeers: new client.Counter({
      name: 'infrapulse_subscribers_dead_total',
      help: 'Connections dropped by the heartbeat (no pong, or nothing drained between two heartbeats), by transport',
      labelNames: ['transport'] as const,
      registers: [register],
    }),
    graphqlRefused: new client.Counter({
      name: 'infrapulse_graphql_refused_total',
      help: 'GraphQL HTTP requests refused with 503 because GRAPHQL_MAX_QUEUED requests were already waiting (GRAPHQL_MAX_CONCURRENT executing)',
      registers: [register],
    }),
    graphqlDuration: new client.Histogram({
      name: 'infrapulse_graphql_request_duration_seconds',
      help: 'GraphQL operations from parse to result (subscriptions: until their stream is set up), by operation name ("anonymous" when unnamed) and type',
      labelNames: ['operation_name', 'operation_type'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [register],
    }),
  };

  new client.Gauge({
    name: 'infrapulse_devices',
    help: 'Devices polled by this instance, by status',
    labelNames: ['status'] as const,
    registers: [register],
    collect() {
      const stats = pollerStats();
      for (const s of DEVICE_STATUSES) this.set({ status: s }, sum(stats.map((st) => st.byStatus[s] ?? 0)));
    },
  });
  new client.Gauge({
    name: 'infrapulse_subscribers',
    help: 'Open subscription connections, by transport (ws = graphql-ws, sse = graphql-sse)',
    labelNames: ['transport'] as const,
    registers: [register],
    collect() {
      const all = [...sources];
      this.set({ transport: 'ws' }, sum(all.map((s) => s.subscribers.ws)));
      this.set({ transport: 'sse' }, sum(all.map((s) => s.subscribers.sse)));
    },
  });
  const subscriptionGauge = (name: string, help: string, pick: (s: { groups: number; members: number }) => number) =>
    new client.Gauge({
      name,
      help,
      registers: [register],
      collect() {
        this.set(sum([...subscriptionSources].map((s) => pick(s()))));
      },
    });
  subscriptionGauge('infrapulse_subscriptions', 'Open GraphQL subscriptions (every transport)', (s) => s.members);
  subscriptionGauge('infrapulse_subscription_groups', 'Distinct subscriptions executed once per event for all their subscribers', (s) => s.groups);
  pollerGauge('infrapulse_ssh_connections_open', 'SSH connections currently established', (s) => s.connectionsOpen);
  pollerGauge('infrapulse_ssh_handshakes', 'SSH handshakes completed since start: flat in a steady fleet, since connections are kept', (s) => s.sshHandshakes);
  pollerGauge('infrapulse_polls_in_flight', 'Device polls holding a concurrency slot', (s) => s.inFlight);
  pollerGauge('infrapulse_polls_waiting', 'Device polls waiting for a concurrency slot (POLLING_MAX_CONCURRENT_DEVICES)', (s) => s.waiting);
  pollerGauge('infrapulse_poll_overlaps_skipped', 'Slots skipped since start because the previous poll of the same collector was still running or waiting', (s) => s.skippedOverlaps);
  pollerGauge('infrapulse_poll_slots_started', 'Scheduled collector slots whose poll started, since start', (s) => s.slotsStarted);
  pollerGauge('infrapulse_poll_lease_skipped', 'Scheduled polls not run since start because this instance renewed its leases late while others were alive', (s) => s.leaseSkipped);
  pollerGauge('infrapulse_poll_slots_late', 'Scheduled collector slots whose poll started more than 1 s after the slot, since start', (s) => s.slotsLate);
  pollerGauge('infrapulse_writer_queued_rows', 'Rows waiting for the next coalesced write', (s) => s.writer.queuedRows);
  pollerGauge('infrapulse_writer_buffered_rows', 'Rows held in memory while the database is unreachable', (s) => s.writer.bufferedRows);
  pollerGauge('infrapulse_writer_outage', '1 while the database is unreachable and samples are buffered', (s) => (s.writer.outage ? 1 : 0));
  pollerGauge('infrapulse_writer_dropped_rows', 'Rows lost since start (refused by the database, or dropped while neither the database nor the spool could take them)', (s) => s.writer.droppedRows);
  pollerGauge('infrapulse_spool_segments', 'On-disk spool segments waiting for replay', (s) => s.writer.spool.segments);
  pollerGauge('infrapulse_spool_records', 'On-disk spool records waiting for replay', (s) => s.writer.spool.records);
  pollerGauge('infrapulse_spool_bytes', 'On-disk spool size in bytes', (s) => s.writer.spool.bytes);
  pollerGauge('infrapulse_spool_corrupt_records', 'Spool records found torn or corrupt and skipped (quarantined segments included)', (s) => s.writer.spool.corruptRecords);
  pollerGauge('infrapulse_spool_skipped_rows', 'Rows in spool records skipped as torn or corrupt', (s) => s.writer.spool.skippedRows);
  pollerGauge('infrapulse_spool_quarantined_segments', 'Damaged spool segments kept as *.seg.corrupt', (s) => s.writer.spool.quarantinedSegments);
  pollerGauge('infrapulse_checks_in_flight', 'Checks running now (at most POLLING_MAX_CONCURRENT_DEVICES, in slots of their own)', (s) => s.checks.inFlight);
  pollerGauge('infrapulse_check_runs', 'Check runs ended since start', (s) => s.checks.runs);
  pollerGauge('infrapulse_check_overlaps_skipped', 'Check slots skipped since start because the same check was still running on the device', (s) => s.checks.skippedOverlaps);
  pollerGauge('infrapulse_leased_devices', 'Devices this instance holds a lease on', (s) => s.leases.held);
  pollerGauge('infrapulse_live_instances', 'Instances sharing the fleet, as seen by this one at its last lease renewal', (s) => s.leases.liveInstances);
  return m;
}

let instance: ReturnType<typeof create> | undefined;
function metrics(): ReturnType<typeof create> {
  instance ??= create();
  return instance;
}

/** The poller's hooks. */
export function pollerObserver(): PollerObserver {
  const m = metrics();
  return {
    collectorDone(collector: CollectorName, outcome, seconds) {
      m.pollDuration.observe({ collector }, seconds);
      const errorKind = outcome.kind === 'ok' ? '' : outcome.kind === 'transport' ? outcome.error : outcome.reason;
      m.pollOutcomes.inc({ collector, outcome: outcome.kind === 'ok' ? 'ok' : 'failed', error_kind: errorKind });
    },
    pollDone() {
      m.devicePolls.inc();
    },
    slotStarted(collector, seconds) {
      m.pollLateness.observe({ collector }, seconds);
    },
    flushDone(rows, seconds, ok) {
      m.writeRows.observe(rows);
      m.writeDuration.observe({ result: ok ? 'ok' : 'error' }, seconds);
    },
  };
}

/** A slow consumer was cut off (its buffer passed the bound). */
export function subscriberCutOff(transport: StreamTransport): void {
  metrics().cutOff.inc({ transport });
}

/** A dead peer was dropped by the heartbeat. */
export function deadPeerDropped(transport: StreamTransport): void {
  metrics().deadPeers.inc({ transport });
}

/** A subscription started through the operation core: parse to stream set-up. */
export function operationObserved(document: unknown, operationName: string | undefined | null, seconds: number): void {
  const op = operationOf(document, operationName);
  metrics().graphqlDuration.observe({ operation_name: operationLabel(op?.name?.value), operation_type: op?.operation ?? 'query' }, seconds);
}

/** A GraphQL HTTP request was refused: too many were waiting. */
export function graphqlRefused(): void {
  metrics().graphqlRefused.inc();
}

export function eventPublished(topic: Topic): void {
  metrics().eventsPublished.inc({ topic });
}

const seenOperationNames = new Set<string>();
const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/** An operation name fit to be a label value. */
export function operationLabel(name: string | undefined | null): string {
  if (!name) return 'anonymous';
  if (!NAME.test(name) || name.length > 64) return 'other';
  if (seenOperationNames.has(name)) return name;
  if (seenOperationNames.size >= MAX_OPERATION_NAMES) return 'other';
  seenOperationNames.add(name);
  return name;
}

function operationOf(document: unknown, operationName: string | undefined | null): OperationDefinitionNode | undefined {
  const defs = (document as { definitions?: readonly { kind: string }[] } | undefined)?.definitions ?? [];
  const ops = defs.filter((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
  return operationName ? ops.find((o) => o.name?.value === operationName) : ops[0];
}

/** The header a caller may send (and always gets back) to tie its request to our log lines. */
export const REQUEST_ID_HEADER = 'x-request-id';
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * One Yoga plugin for what server.ts needs from observability:
 * - a request id per HTTP request (the caller's x-request-id when sane, else a new one),
 *   echoed in the response and bound to the operation's `log` (a pino child logger), so every
 *   line a resolver logs carries it;
 * - the GraphQL duration histogram, by operation name and type.
 */
export function observabilityPlugin(log: Logger): Plugin {
  const m = metrics();
  const requestIds = new WeakMap<Request, string>();
  const startedAt = new WeakMap<object, number>();
  return {
    onRequest({ request }) {
      const sent = request.headers.get(REQUEST_ID_HEADER);
      requestIds.set(request, sent && REQUEST_ID.test(sent) ? sent : randomBytes(8).toString('hex'));
    },
    onResponse({ request, response }) {
      const id = requestIds.get(request);
      if (id) response.headers.set(REQUEST_ID_HEADER, id);
    },
    onContextBuilding({ context, extendContext }) {
      const request = (context as { request?: Request }).request;
      const requestId = request ? requestIds.get(request) : undefined;
      if (requestId) extendContext({ requestId, log: log.child({ requestId }) } as never);
    },
    onParse({ context }) {
      startedAt.set(context, performance.now());
    },
    onExecute({ args }) {
      const t0 = startedAt.get(args.contextValue as object) ?? performance.now();
      return {
        onExecuteDone() {
          const op = operationOf(args.document, args.operationName);
          m.graphqlDuration.observe({ operation_name: operationLabel(op?.name?.value), operation_type: op?.operation ?? 'query' }, (performance.now() - t0) / 1000);
        },
      };
    },
    onSubscribe({ args }) {
      const t0 = startedAt.get(args.contextValue as object) ?? performance.now();
      return {
        onSubscribeResult() {
          const op = operationOf(args.document, args.operationName);
          m.graphqlDuration.observe({ operation_name: operationLabel(op?.name?.value), operation_type: 'subscription' }, (performance.now() - t0) / 1000);
        },
      };
    },
  };
}
