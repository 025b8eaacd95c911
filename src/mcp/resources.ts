/**
 * One resource per device, `infrapulse://devices/<id>`, whose text is the device's summary. The
 * list pages through Query.devices; clients hear notifications/resources/list_changed when a
 * device is created or deleted (the endpoint relays the bus's deviceListChanged).
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, ListResourcesRequestSchema, ListResourceTemplatesRequestSchema, McpError, ReadResourceRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { operation, run, ToolError, type ToolContext } from './graphql.ts';
import { deviceDetail, DeviceNotFoundError, deviceSummary } from './tools/devices.ts';

export const DEVICE_URI_PREFIX = 'infrapulse://devices/';
const RESOURCE_NOT_FOUND = -32002; // the MCP specification's code; the SDK has no name for it
const PAGE = 100;
const MIME = 'text/plain';

const LIST = operation(`query McpDeviceResources($first: Int, $after: String) {
  devices(first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id name hostname status } } }
}`);

interface ResourcePage {
  devices: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: { id: string; name: string; hostname: string; status: string } }[] };
}

/** ToolErrors become JSON-RPC errors with their message; anything else is logged and said to be internal. */
async function guarded<T>(ctx: ToolContext, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof McpError) throw err;
    if (err instanceof ToolError) throw new McpError(ErrorCode.InvalidRequest, err.message);
    ctx.log.error({ err, what }, 'MCP resource request failed unexpectedly');
    throw new McpError(ErrorCode.InternalError, `${what} failed with an internal error; the server log has the details`);
  }
}

export function registerDeviceResources(server: McpServer, ctx: ToolContext): void {
  server.server.registerCapabilities({ resources: { listChanged: true } });

  server.server.setRequestHandler(ListResourcesRequestSchema, (request) =>
    guarded(ctx, 'resources/list', async () => {
      const page = await run<ResourcePage>(ctx, LIST, { first: PAGE, after: request.params?.cursor ?? null });
      return {
        resources: page.devices.edges.map(({ node: d }) => ({
          uri: `${DEVICE_URI_PREFIX}${encodeURIComponent(d.id)}`,
          name: d.name,
          title: `Device ${d.name}`,
          description: `${d.hostname}, ${d.status}: status, latest metrics, filesystems, drives, containers and status history`,
          mimeType: MIME,
        })),
        ...(page.devices.pageInfo.hasNextPage && page.devices.pageInfo.endCursor ? { nextCursor: page.devices.pageInfo.endCursor } : {}),
      };
    }),
  );

  server.server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
    resourceTemplates: [
      { uriTemplate: `${DEVICE_URI_PREFIX}{id}`, name: 'device', title: 'A device', description: 'A device\'s summary by its id', mimeType: MIME },
    ],
  }));

  server.server.setRequestHandler(ReadResourceRequestSchema, (request) =>
    guarded(ctx, 'resources/read', async () => {
      const { uri } = request.params;
      const id = uri.startsWith(DEVICE_URI_PREFIX) ? decodeURIComponent(uri.slice(DEVICE_URI_PREFIX.length)) : '';
      if (!id || id.includes('/')) throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri} (expected ${DEVICE_URI_PREFIX}<device id>)`);
      let device;
      try {
        device = await deviceDetail(ctx, id);
      } catch (err) {
        if (err instanceof DeviceNotFoundError) throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`);
        throw err;
      }
      // By id only: a name that happens to equal the URI's id is another device.
      if (device.id !== id) throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`);
      return { contents: [{ uri, mimeType: MIME, text: deviceSummary(device) }] };
    }),
  );
}
