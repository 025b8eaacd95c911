/** list_devices, get_device, poll_device, and the device summary the device resources share. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { bytes, duration, num, pct, rate, section, when } from '../format.ts';
import { enumValues, operation, run, ToolError, TYPED_ERROR_FIELDS, unwrap, type ToolContext, type TypedError } from '../graphql.ts';
import { answer, toolConfig } from './define.ts';
import { HARDWARE_FIELDS, hardwareSections, type Hardware } from './hardware.ts';

/* ---------------------------------------------------------------- shapes the operations select */

interface Metrics {
  time: string;
  cpuPercent: number | null;
  memUsedPercent: number;
  load1: number;
}

interface DeviceRow {
  id: string;
  name: string;
  hostname: string;
  status: string;
  tags: string[];
  lastSeenAt: string | null;
  lastError: string | null;
  latestMetrics: Metrics | null;
}

export interface DeviceDetail extends DeviceRow, Hardware {
  port: number;
  username: string | null;
  transport: string;
  monitoringEnabled: boolean;
  latestMetrics:
    | (Metrics & {
        cpuCount: number;
        memTotalBytes: number;
        load5: number;
        load15: number;
        uptimeSeconds: number;
        netRxBytesPerSec: number | null;
        netTxBytesPerSec: number | null;
        diskReadBytesPerSec: number | null;
        diskWriteBytesPerSec: number | null;
      })
    | null;
  filesystems: { mount: string; filesystem: string; fsType: string | null; sizeBytes: number; usedBytes: number; availableBytes: number; usedPercent: number }[];
  drives: { drive: string; model: string | null; serial: string | null; health: string; temperatureC: number | null; percentUsed: number | null; powerOnHours: number | null; reallocatedSectors: number | null; pendingSectors: number | null; error: string | null }[];
  containers: { name: string; image: string; state: string; health: string | null; cpuPercent: number | null; memUsageBytes: number | null; restartCount: number | null }[];
  statusChanges: { previous: string; current: string; at: string; reason: string | null }[];
  collectors?: { name: string; state: string | null; reason: string | null }[];
}

const ROW_FIELDS = 'id name hostname status tags lastSeenAt lastError latestMetrics { time cpuPercent memUsedPercent load1 }';

export const DEVICE_DETAIL_FRAGMENT = `fragment McpDeviceDetail on Device {
  ${ROW_FIELDS} port username transport monitoringEnabled
  latestMetrics { cpuCount memTotalBytes load5 load15 uptimeSeconds netRxBytesPerSec netTxBytesPerSec diskReadBytesPerSec diskWriteBytesPerSec }
  filesystems { mount filesystem fsType sizeBytes usedBytes availableBytes usedPercent }
  drives { drive model serial health temperatureC percentUsed powerOnHours reallocatedSectors pendingSectors error }
  containers { name image state health cpuPercent memUsageBytes restartCount }
  ${HARDWARE_FIELDS}
  statusChanges(limit: $history) { previous current at reason }
  collectors { name state reason }
}`;

/* ---------------------------------------------------------------- finding a device */

export class DeviceNotFoundError extends ToolError {
  constructor(ref: string) {
    super(`no device has the id or name "${ref}" (list_devices shows them)`);
  }
}

const FIND = operation(`query McpFindDevice($ref: ID!, $name: String!) { byId: device(id: $ref) { id name } byName: device(name: $name) { id name } }`);

/** A device by id, else by name (ids win: a device may be named like another's id). */
export async function findDevice(ctx: ToolContext, ref: string): Promise<{ id: string; name: string }> {
  const found = await run<{ byId: { id: string; name: string } | null; byName: { id: string; name: string } | null }>(ctx, FIND, { ref, name: ref });
  const device = found.byId ?? found.byName;
  if (!device) throw new DeviceNotFoundError(ref);
  return device;
}

const DETAIL = operation(`query McpDevice($ref: ID!, $name: String!, $history: Int) {
  byId: device(id: $ref) { ...McpDeviceDetail }
  byName: device(name: $name) { ...McpDeviceDetail }
}
${DEVICE_DETAIL_FRAGMENT}`);

export async function deviceDetail(ctx: ToolContext, ref: string, history = 10): Promise<DeviceDetail> {
  const found = await run<{ byId: DeviceDetail | null; byName: DeviceDetail | null }>(ctx, DETAIL, { ref, name: ref, history });
  const device = found.byId ?? found.byName;
  if (!device) throw new DeviceNotFoundError(ref);
  return device;
}

/* ---------------------------------------------------------------- text */

const brief = (d: DeviceRow): string => {
  const m = d.latestMetrics;
  const now = m ? `cpu ${pct(m.cpuPercent)}, mem ${pct(m.memUsedPercent)}, load ${num(m.load1)}` : 'no sample yet';
  const tags = d.tags.length ? `, tags ${d.tags.join(' ')}` : '';
  const error = d.status !== 'ONLINE' && d.lastError ? ` — ${d.lastError}` : '';
  return `${d.name} [${d.status}] ${d.hostname} (id ${d.id}): ${now}${tags}${error}`;
};

/** What an assistant needs to answer questions about one device, in a screenful. */
export function deviceSummary(d: DeviceDetail, now = Date.now()): string {
  const out = [`${d.name} (id ${d.id}) is ${d.status}; last seen ${when(d.lastSeenAt, now)}${d.lastError ? `; last error: ${d.lastError}` : ''}`];
  out.push(`${d.transport === 'LOCAL' ? 'the server\'s own machine' : `${d.username ?? '?'}@${d.hostname}:${d.port}`}${d.tags.length ? `, tags: ${d.tags.join(', ')}` : ''}${d.monitoringEnabled ? '' : ', monitoring disabled'}`);
  if (d.collectors?.length) {
    // UNAVAILABLE (no docker, no smartctl here) is not a fault; FAILING is what made a device DEGRADED.
    out.push(`collectors: ${d.collectors.map((c) => `${c.name.toLowerCase()} ${c.state ?? 'not run yet'}${c.reason && c.state !== 'OK' ? ` (${c.reason})` : ''}`).join(', ')}`);
  }
  const m = d.latestMetrics;
  if (m) {
    out.push(
      `latest sample ${m.time}: cpu ${pct(m.cpuPercent)} of ${m.cpuCount} CPUs, memory ${pct(m.memUsedPercent)} of ${bytes(m.memTotalBytes)}, load ${num(m.load1)} ${num(m.load5)} ${num(m.load15)}, ` +
        `up ${duration(m.uptimeSeconds)}, network in ${rate(m.netRxBytesPerSec)} out ${rate(m.netTxBytesPerSec)}, disk read ${rate(m.diskReadBytesPerSec)} write ${rate(m.diskWriteBytesPerSec)}`,
    );
  } else out.push('no system sample yet');
  const fs = [...d.filesystems].sort((a, b) => b.usedPercent - a.usedPercent);
  out.push(...section(`filesystems (${fs.length}, fullest first)`, fs, 15, (f) => `${f.mount} ${pct(f.usedPercent)} used of ${bytes(f.sizeBytes)}, ${bytes(f.availableBytes)} free (${f.filesystem}${f.fsType ? ` ${f.fsType}` : ''})`));
  out.push(
    ...section(`drives (${d.drives.length})`, d.drives, 15, (v) => {
      const wear = v.percentUsed === null ? '' : `, ${num(v.percentUsed, 0)} % worn`;
      const sectors = v.reallocatedSectors || v.pendingSectors ? `, ${v.reallocatedSectors ?? 0} reallocated / ${v.pendingSectors ?? 0} pending sectors` : '';
      return `${v.drive} ${v.model ?? ''} ${v.health}${v.temperatureC === null ? '' : ` ${num(v.temperatureC, 0)} °C`}${wear}${sectors}${v.error ? ` (${v.error})` : ''}`;
    }),
  );
  // Trouble first (stopped, restarting, unhealthy), then the busiest.
  const trouble = (c: DeviceDetail['containers'][number]) => (c.state !== 'running' || c.health === 'unhealthy' ? 1 : 0);
  const containers = [...d.containers].sort((a, b) => trouble(b) - trouble(a) || (b.cpuPercent ?? 0) - (a.cpuPercent ?? 0));
  const running = d.containers.filter((c) => c.state === 'running').length;
  out.push(
    ...section(`containers (${d.containers.length}, ${running} running; trouble first, then by CPU)`, containers, 20, (c) =>
      `${c.name} ${c.state}${c.health ? ` ${c.health}` : ''} (${c.image})${c.state === 'running' ? `, cpu ${pct(c.cpuPercent)}, mem ${bytes(c.memUsageBytes)}` : ''}${c.restartCount ? `, ${c.restartCount} restarts` : ''}`,
    ),
  );
  out.push(...hardwareSections(d));
  out.push(...section('status history (newest first)', d.statusChanges, 20, (s) => `${s.at} ${s.previous} → ${s.current}${s.reason ? `: ${s.reason}` : ''}`));
  return out.join('\n');
}

/* ---------------------------------------------------------------- tools */

const LIST = operation(`query McpListDevices($status: [DeviceStatus!], $tag: String, $search: String, $first: Int, $after: String) {
  devices(status: $status, tag: $tag, search: $search, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { ${ROW_FIELDS} } }
  }
}`);

interface DevicePage {
  devices: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: DeviceRow }[] };
}

const POLL = operation(`mutation McpPollDevice($id: ID!, $collectors: [CollectorName!]) {
  pollDevice(id: $id, collectors: $collectors) {
    __typename
    ... on PollResult { status previousStatus durationMs rows write skipped collectors { collector ok problems error } metrics { time cpuPercent memUsedPercent load1 } }
    ${TYPED_ERROR_FIELDS}
  }
}`);

interface PollResult {
  __typename: 'PollResult';
  status: string;
  previousStatus: string | null;
  durationMs: number | null;
  rows: number | null;
  write: string | null;
  skipped: string | null;
  collectors: { collector: string; ok: boolean; problems: string[]; error: string | null }[];
  metrics: Metrics | null;
}

export function registerDeviceTools(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'list_devices',
    toolConfig({
      title: 'List devices',
      description: 'Monitored hosts ordered by name, with status and latest CPU, memory and load. Filters combine; pass nextCursor back as cursor for the next page.',
      readOnly: true,
      inputSchema: {
        status: z.array(z.enum(enumValues('DeviceStatus'))).optional().describe('Only devices in any of these statuses'),
        tag: z.string().max(100).optional().describe('Only devices with this tag'),
        text: z.string().max(200).optional().describe('Case-insensitive substring of the name or hostname'),
        limit: z.number().int().min(1).max(200).default(50).describe('Devices per page'),
        cursor: z.string().max(500).optional().describe('nextCursor of the previous page'),
      },
    }),
    answer(ctx, 'list_devices', async (args) => {
      const page = await run<DevicePage>(ctx, LIST, { status: args.status, tag: args.tag, search: args.text, first: args.limit, after: args.cursor });
      const devices = page.devices.edges.map((e) => e.node);
      const nextCursor = page.devices.pageInfo.hasNextPage ? page.devices.pageInfo.endCursor : null;
      const head = `${page.devices.totalCount} device(s) match; ${devices.length} on this page${nextCursor ? ` (more: cursor "${nextCursor}")` : ''}`;
      return { text: [head, ...devices.map((d) => `- ${brief(d)}`)].join('\n'), structured: { totalCount: page.devices.totalCount, devices, nextCursor } };
    }),
  );

  server.registerTool(
    'get_device',
    toolConfig({
      title: 'Get a device',
      description: 'One device in detail: status, latest metrics, filesystems, drives (SMART), containers, pools and RAID arrays, sensors (stopped fans, hot readings), GPUs and recent status changes.',
      readOnly: true,
      inputSchema: {
        device: z.string().min(1).max(200).describe('The device\'s id or name'),
        history: z.number().int().min(1).max(100).default(10).describe('How many status changes to include'),
      },
    }),
    answer(ctx, 'get_device', async (args) => {
      const device = await deviceDetail(ctx, args.device, args.history);
      return { text: deviceSummary(device), structured: { device } };
    }),
  );

  server.registerTool(
    'poll_device',
    toolConfig({
      title: 'Poll a device now',
      description: 'Polls a device at once (all collectors unless given) and reports what the poll found. Needs an OPERATOR token.',
      readOnly: false,
      inputSchema: {
        device: z.string().min(1).max(200).describe('The device\'s id or name'),
        collectors: z.array(z.enum(enumValues('CollectorName'))).optional().describe('Only these collector families'),
      },
    }),
    answer(ctx, 'poll_device', async (args) => {
      const { id, name } = await findDevice(ctx, args.device);
      const data = await run<{ pollDevice: PollResult | TypedError }>(ctx, POLL, { id, collectors: args.collectors });
      const r = unwrap(data.pollDevice);
      const head = r.skipped
        ? `${name} was not polled (${r.skipped}); status ${r.status}`
        : `polled ${name} in ${num(r.durationMs, 0)} ms: status ${r.status}${r.previousStatus && r.previousStatus !== r.status ? ` (was ${r.previousStatus})` : ''}, ${r.rows ?? 0} rows ${r.write ?? ''}`;
      const collectors = r.collectors.map((c) => `- ${c.collector}: ${c.ok ? 'ok' : `failed: ${c.error}`}${c.problems.length ? ` (${c.problems.join('; ')})` : ''}`);
      const m = r.metrics ? [`now: cpu ${pct(r.metrics.cpuPercent)}, mem ${pct(r.metrics.memUsedPercent)}, load ${num(r.metrics.load1)}`] : [];
      const { __typename: _t, ...result } = r;
      return { text: [head, ...collectors, ...m].join('\n'), structured: { deviceId: id, name, ...result } };
    }),
  );
}
