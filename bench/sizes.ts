/** How big each part runs: full (the published figures, about 20 min on 2 cores), quick (about 8 min), tiny (the smoke test). */
export interface Sizes {
  runs: number;
  parse: { iterations: number };
  ingest: { rows: number; rounds: number };
  query: { days: number; devices: number; listDevices: number; requests: number };
  poll: { devices: number[]; windowSec: number; intervalSec: number; warmUpSec: number };
  /** The cost curve (bench `scale`): the poll measurement per fleet, bigger fleets at longer intervals. */
  scale: { fleets: { devices: number; intervalSec: number }[]; windowSec: number; warmUpSec: number };
  /** Polling under API load (bench/schedule.ts): devices every intervalSec s, qps queries/s, windows of windowSec. */
  schedule: { devices: number; intervalSec: number; maxConcurrent: number; qps: number; windowSec: number };
  /** scale*: one server with scaleSubscribers graphql-ws subscribers at 1 event/s for scaleSec per run. */
  fanout: { subscribers: number[]; saturationSec: number; latencySec: number; latencyRate: number; scaleSubscribers: number; scaleSec: number };
  memory: { devices: number; subscribers: number; settleSec: number };
  /** Devices listed, samples published per second and for how long (bench/dashboard.ts). */
  dashboard: { devices: number; samplesPerSec: number; windowSec: number };
}

export type SizeName = 'full' | 'quick' | 'tiny';

export const SIZES: Record<SizeName, Sizes> = {
  full: {
    runs: 3,
    parse: { iterations: 2000 },
    ingest: { rows: 50_000, rounds: 5 },
    query: { days: 30, devices: 100, listDevices: 500, requests: 1000 },
    poll: { devices: [100, 1000], windowSec: 30, intervalSec: 10, warmUpSec: 60 },
    scale: { fleets: [{ devices: 100, intervalSec: 10 }, { devices: 1000, intervalSec: 10 }, { devices: 10_000, intervalSec: 60 }], windowSec: 30, warmUpSec: 60 },
    schedule: { devices: 200, intervalSec: 5, maxConcurrent: 10, qps: 200, windowSec: 30 },
    fanout: { subscribers: [1000, 5000], saturationSec: 5, latencySec: 5, latencyRate: 10, scaleSubscribers: 10_000, scaleSec: 10 },
    memory: { devices: 1000, subscribers: 1000, settleSec: 20 },
    dashboard: { devices: 1000, samplesPerSec: 100, windowSec: 10 },
  },
  quick: {
    runs: 3,
    parse: { iterations: 500 },
    ingest: { rows: 10_000, rounds: 3 },
    query: { days: 3, devices: 100, listDevices: 500, requests: 300 },
    poll: { devices: [100, 1000], windowSec: 10, intervalSec: 10, warmUpSec: 30 },
    scale: { fleets: [{ devices: 100, intervalSec: 10 }, { devices: 1000, intervalSec: 10 }, { devices: 3000, intervalSec: 60 }], windowSec: 10, warmUpSec: 30 },
    schedule: { devices: 200, intervalSec: 5, maxConcurrent: 10, qps: 200, windowSec: 10 },
    fanout: { subscribers: [1000, 5000], saturationSec: 1, latencySec: 1, latencyRate: 10, scaleSubscribers: 10_000, scaleSec: 3 },
    memory: { devices: 1000, subscribers: 1000, settleSec: 4 },
    dashboard: { devices: 1000, samplesPerSec: 100, windowSec: 10 },
  },
  tiny: {
    runs: 3,
    parse: { iterations: 20 },
    ingest: { rows: 300, rounds: 3 },
    query: { days: 1, devices: 5, listDevices: 10, requests: 5 },
    poll: { devices: [5], windowSec: 3, intervalSec: 1, warmUpSec: 2 },
    scale: { fleets: [{ devices: 5, intervalSec: 1 }, { devices: 20, intervalSec: 2 }], windowSec: 3, warmUpSec: 2 },
    schedule: { devices: 5, intervalSec: 2, maxConcurrent: 2, qps: 10, windowSec: 3 },
    fanout: { subscribers: [20], saturationSec: 1, latencySec: 1, latencyRate: 10, scaleSubscribers: 50, scaleSec: 2 },
    memory: { devices: 5, subscribers: 20, settleSec: 2 },
    dashboard: { devices: 50, samplesPerSec: 20, windowSec: 2 },
  },
};
