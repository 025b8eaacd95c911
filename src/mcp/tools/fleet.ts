/** fleet_summary: the whole fleet in one answer, from the same queries a GraphQL client would run. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { bytes, num, pct, section } from '../format.ts';
import { enumValues, operation, run, type ToolContext } from '../graphql.ts';
import { alertLine, LIST_ALERTS, type AlertPage, type AlertRow } from './alerts.ts';
import { answer, toolConfig } from './define.ts';
import { gpuLine, HARDWARE_FIELDS, hottestFirst, poolLine, poolTrouble, sensorLine, sensorTrouble, type GpuView, type Hardware } from './hardware.ts';

const FLEET = operation(`query McpFleet($first: Int, $after: String, $tag: String) {
  devices(first: $first, after: $after, tag: $tag) {
    pageInfo { hasNextPage endCursor }
    edges { node {
      id name status
      latestMetrics { cpuPercent memUsedPercent load1 }
      filesystems { mount usedPercent sizeBytes availableBytes }
      drives { drive model health temperatureC }
      ${HARDWARE_FIELDS}
    } }
  }
}`);

interface FleetDevice extends Hardware {
  id: string;
  name: string;
  status: string;
  latestMetrics: { cpuPercent: number | null; memUsedPercent: number; load1: number } | null;
  filesystems: { mount: string; usedPercent: number; sizeBytes: number; availableBytes: number }[];
  drives: { drive: string; model: string | null; health: string; temperatureC: number | null }[];
}

interface FleetPage {
  devices: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: FleetDevice }[] };
}

const PAGE = 500;

async function allDevices(ctx: ToolContext, tag: string | undefined): Promise<FleetDevice[]> {
  const out: FleetDevice[] = [];
  let after: string | null = null;
  do {
    const page: FleetPage = await run<FleetPage>(ctx, FLEET, { first: PAGE, after, tag });
    out.push(...page.devices.edges.map((e) => e.node));
    after = page.devices.pageInfo.hasNextPage ? page.devices.pageInfo.endCursor : null;
  } while (after);
  return out;
}

async function firingAlerts(ctx: ToolContext): Promise<AlertRow[]> {
  const out: AlertRow[] = [];
  let after: string | null = null;
  do {
    const page: AlertPage = await run<AlertPage>(ctx, LIST_ALERTS, { state: ['FIRING'], first: PAGE, after });
    out.push(...page.alerts.edges.map((e) => e.node));
    after = page.alerts.pageInfo.hasNextPage ? page.alerts.pageInfo.endCursor : null;
  } while (after);
  return out;
}

const top = <T>(items: T[], key: (t: T) => number | null, n: number): T[] =>
  items.filter((t) => key(t) !== null).sort((a, b) => key(b)! - key(a)!).slice(0, n);

/** CRITICAL first (Severity lists INFO, WARNING, CRITICAL); newest first within one (the order alerts come in, kept by a stable sort). */
const rank = (severity: string): number => enumValues('Severity').indexOf(severity);

export interface FleetSummary {
  devices: number;
  byStatus: Record<string, number>;
  fullestFilesystems: { deviceId: string; device: string; mount: string; usedPercent: number; availableBytes: number; sizeBytes: number }[];
  hottestDrives: { deviceId: string; device: string; drive: string; model: string | null; health: string; temperatureC: number }[];
  busiestHosts: { deviceId: string; device: string; cpuPercent: number; memUsedPercent: number; load1: number }[];
  /** Pools and arrays not HEALTHY, stopped fans and sensors at their high mark, as get_device words them. */
  hardwareTrouble: { deviceId: string; device: string; what: string }[];
  hottestGpus: ({ deviceId: string; device: string } & GpuView)[];
  firingAlerts: { count: number; bySeverity: Record<string, number>; mostSevere: AlertRow[] };
}

export async function fleetSummary(ctx: ToolContext, n: number, tag: string | undefined): Promise<FleetSummary> {
  const [devices, alerts] = await Promise.all([allDevices(ctx, tag), firingAlerts(ctx)]);
  const byStatus = Object.fromEntries(enumValues('DeviceStatus').map((s) => [s, 0]));
  for (const d of devices) byStatus[d.status] = (byStatus[d.status] ?? 0) + 1;
  const inScope = new Set(devices.map((d) => d.id));
  const firing = alerts.filter((a) => inScope.has(a.deviceId));
  const bySeverity: Record<string, number> = {};
  for (const a of firing) bySeverity[a.severity] = (bySeverity[a.severity] ?? 0) + 1;
  const filesystems = devices.flatMap((d) => d.filesystems.map((f) => ({ deviceId: d.id, device: d.name, ...f })));
  const drives = devices.flatMap((d) => d.drives.map((v) => ({ deviceId: d.id, device: d.name, ...v })));
  const hosts = devices.flatMap((d) => (d.latestMetrics?.cpuPercent === null || !d.latestMetrics ? [] : [{ deviceId: d.id, device: d.name, ...d.latestMetrics, cpuPercent: d.latestMetrics.cpuPercent }]));
  return {
    devices: devices.length,
    byStatus,
    fullestFilesystems: top(filesystems, (f) => f.usedPercent, n),
    hottestDrives: top(drives, (v) => v.temperatureC, n).map((v) => ({ ...v, temperatureC: v.temperatureC! })),
    busiestHosts: top(hosts, (h) => h.cpuPercent, n),
    hardwareTrouble: devices.flatMap((d) => [...[...d.pools, ...d.raidArrays].filter(poolTrouble).map(poolLine), ...d.sensors.filter(sensorTrouble).map(sensorLine)].map((what) => ({ deviceId: d.id, device: d.name, what }))),
    hottestGpus: hottestFirst(devices.flatMap((d) => d.gpus.map((g) => ({ deviceId: d.id, device: d.name, ...g })))).slice(0, n),
    firingAlerts: { count: firing.length, bySeverity, mostSevere: [...firing].sort((a, b) => rank(b.severity) - rank(a.severity)).slice(0, n) },
  };
}

function text(s: FleetSummary, tag: string | undefined): string {
  const statuses = Object.entries(s.byStatus).filter(([, c]) => c > 0).map(([k, c]) => `${c} ${k}`);
  const severities = Object.entries(s.firingAlerts.bySeverity).map(([k, c]) => `${c} ${k}`);
  return [
    `${s.devices} device(s)${tag ? ` tagged ${tag}` : ''}: ${statuses.join(', ') || 'none'}`,
    ...section(`firing alerts: ${s.firingAlerts.count}${severities.length ? ` (${severities.join(', ')}), most severe first` : ''}`, s.firingAlerts.mostSevere, s.firingAlerts.mostSevere.length, alertLine),
    ...section('fullest filesystems', s.fullestFilesystems, s.fullestFilesystems.length, (f) => `${f.device} ${f.mount} ${pct(f.usedPercent)} used, ${bytes(f.availableBytes)} free of ${bytes(f.sizeBytes)}`),
    ...section('hottest drives', s.hottestDrives, s.hottestDrives.length, (v) => `${v.device} ${v.drive} ${num(v.temperatureC, 0)} °C ${v.health}${v.model ? ` (${v.model})` : ''}`),
    ...section('hardware trouble (pools, arrays, fans, sensors)', s.hardwareTrouble, 20, (t) => `${t.device} ${t.what}`),
    ...section('hottest GPUs', s.hottestGpus, s.hottestGpus.length, (g) => `${g.device} ${gpuLine(g)}`),
    ...section('busiest hosts (CPU)', s.busiestHosts, s.busiestHosts.length, (h) => `${h.device} cpu ${pct(h.cpuPercent)}, mem ${pct(h.memUsedPercent)}, load ${num(h.load1)}`),
  ].join('\n');
}

export function registerFleetTool(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'fleet_summary',
    toolConfig({
      title: 'Fleet summary',
      description: 'The fleet at a glance: devices per status, firing alerts, the fullest filesystems, the hottest drives, degraded pools and arrays, stopped fans, the hottest GPUs and the busiest hosts (latest samples).',
      readOnly: true,
      inputSchema: {
        top: z.number().int().min(1).max(50).default(5).describe('How many entries per "top" list'),
        tag: z.string().max(100).optional().describe('Only devices with this tag'),
      },
    }),
    answer(ctx, 'fleet_summary', async (args) => {
      const summary = await fleetSummary(ctx, args.top, args.tag);
      return { text: text(summary, args.tag), structured: { ...summary } };
    }),
  );
}
