/** The MCP server of one session: every tool and resource, acting as the session's principal. */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { VERSION } from '../version.ts';
import type { ToolContext } from './graphql.ts';
import { registerDeviceResources } from './resources.ts';
import { registerAlertTools } from './tools/alerts.ts';
import { registerDeviceTools } from './tools/devices.ts';
import { registerFleetTool } from './tools/fleet.ts';
import { registerHistoryTool } from './tools/history.ts';
import { registerProcessTool } from './tools/processes.ts';

const INSTRUCTIONS = `infrapulse monitors Linux hosts over SSH: CPU, memory, load, filesystems, network, SMART drive health and Docker containers, with alerts.
Start with fleet_summary for the state of everything, list_devices to find hosts, get_device for one host's details, metric_history for how a host's metrics moved over time, list_alerts for what fired and when.
top_processes shows what a host is busy with right now (it runs a command there).
poll_device and acknowledge_alert change things; they and top_processes need an OPERATOR token. Times are UTC; byte counts are bytes.`;

export function buildMcpServer(ctx: ToolContext): McpServer {
  const server = new McpServer({ name: 'infrapulse', title: 'infrapulse', version: VERSION }, { instructions: INSTRUCTIONS });
  registerDeviceTools(server, ctx);
  registerHistoryTool(server, ctx);
  registerAlertTools(server, ctx);
  registerFleetTool(server, ctx);
  registerProcessTool(server, ctx);
  registerDeviceResources(server, ctx);
  return server;
}
