/** top_processes: a device's busiest processes right now, through Device.topProcesses (OPERATOR). */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { TopProcess } from '../../collectors/top-processes.ts';
import { bytes, num, pct, rate } from '../format.ts';
import { enumValues, operation, run, ToolError, TYPED_ERROR_FIELDS, unwrap, type ToolContext, type TypedError } from '../graphql.ts';
import { answer, toolConfig } from './define.ts';
import { findDevice } from './devices.ts';

const TOP = operation(`query McpTopProcesses($id: ID!, $by: ProcessOrder, $limit: Int) {
  device(id: $id) {
    topProcesses(by: $by, limit: $limit) {
      __typename
      ... on TopProcesses {
        time by cpuBasis sampleIntervalSeconds processCount
        processes { pid ppid user command state cpuPercent memoryBytes ioReadBytesPerSecond ioWriteBytesPerSecond }
      }
      ${TYPED_ERROR_FIELDS}
    }
  }
}`);

/** The field's process, every field selected above. */
type Proc = TopProcess;

interface TopProcesses {
  __typename: 'TopProcesses';
  time: string;
  by: string;
  cpuBasis: string;
  sampleIntervalSeconds: number | null;
  processCount: number;
  processes: Proc[];
}

/** Long command lines (java, node) would drown the list; the structured content keeps them whole. */
const short = (command: string): string => (command.length > 120 ? `${command.slice(0, 119)}…` : command);

const io = (p: Proc): string =>
  p.ioReadBytesPerSecond === null && p.ioWriteBytesPerSecond === null ? 'io unreadable' : `io read ${rate(p.ioReadBytesPerSecond)} write ${rate(p.ioWriteBytesPerSecond)}`;

export function registerProcessTool(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'top_processes',
    toolConfig({
      title: 'Top processes',
      description:
        'A device\'s busiest processes right now, by CPU, memory or disk I/O: runs one command on the host (two samples half a second apart) and changes nothing. Needs an OPERATOR token, as poll_device does.',
      readOnly: true,
      inputSchema: {
        device: z.string().min(1).max(200).describe('The device\'s id or name'),
        by: z.enum(enumValues('ProcessOrder')).default('CPU').describe('What to rank by'),
        limit: z.number().int().min(1).max(100).default(10).describe('How many processes'),
      },
    }),
    answer(ctx, 'top_processes', async (args) => {
      const { id, name } = await findDevice(ctx, args.device);
      const data = await run<{ device: { topProcesses: TopProcesses | TypedError | null } | null }>(ctx, TOP, { id, by: args.by, limit: args.limit });
      const result = data.device?.topProcesses;
      if (!result) throw new ToolError(`no answer for ${name}`);
      const r = unwrap(result);
      const basis = r.cpuBasis === 'INTERVAL' ? `CPU over ${num(r.sampleIntervalSeconds)} s` : 'CPU averaged over each process\'s life (no /proc on this host)';
      const head = `${name}: top ${r.processes.length} of ${r.processCount} processes by ${r.by} at ${r.time} (${basis}; CPU % of one core)`;
      const lines = r.processes.map((p) => `- ${p.pid} ${p.user ?? '?'} ${short(p.command)}: cpu ${pct(p.cpuPercent)}, mem ${bytes(p.memoryBytes)}, ${io(p)}`);
      const { __typename: _t, ...top } = r;
      return { text: [head, ...lines].join('\n'), structured: { deviceId: id, name, ...top } };
    }),
  );
}
