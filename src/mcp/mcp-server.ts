/** The MCP server of one session: every tool and resource, acting as the session's principal. */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { VERSION } from '../version.ts';
import type { ToolContext } from './graphql.ts';
import { registerDeviceResources } from './resources.ts';
import { registerAlertTools } from './tools/alerts.ts';
import { registerDeviceTools } from './tools/devices.ts';
import { registerFleetTool } from './tools/fleet.ts';
import { registerHistoryTool } from './tools/history.ts';

const INSTRUCTIONS = `infrapulse monitors Linux hosts over SSH: CPU, memory, load, filesystems, network, SMART drive health and Docker containers, with alerts.
Start with fleet_summary for the state of everything, list_devices to find hosts, get_device for one host's details, metric_history for how a host's metrics moved over time, list_alerts for what fired and when.
poll_device and acknowledge_alert change things and need an OPERATOR token. Times are UTC; byte counts are bytes.`;

export function buildMcpServer(ctx: ToolContext): McpServer {
  const server = new McpServer({ name: 'infrapulse', title: 'infrapulse', version: VERSION }, { instructions: INSTRUCTIONS });
  registerDeviceTools(server, ctx);
  registerHistoryTool(server, ctx);
  registerAlertTools(server, ctx);
  registerFleetTool(server, ctx);
  // top_processes arrives with the checks work (issue #18, Device.topProcesses(by, limit)): it
  // will be one more GraphQL-backed tool registered here, not a stub before the field exists.
  registerDeviceResources(server, ctx);
  return server;
}
