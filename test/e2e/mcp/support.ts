/** The SDK's own client against a running server's /mcp, and what the MCP tests read from its answers. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { expect } from 'vitest';

export interface Connected {
  client: Client;
  transport: StreamableHTTPClientTransport;
}

export async function connect(serverUrl: string, token: string | null): Promise<Connected> {
  const transport = new StreamableHTTPClientTransport(new URL(`${serverUrl}/mcp`), {
    requestInit: token ? { headers: { authorization: `Bearer ${token}` } } : {},
  });
  const client = new Client({ name: 'infrapulse-test', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport };
}

export interface ToolResult {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
}

export async function call(c: Connected, name: string, args: Record<string, unknown> = {}): Promise<ToolResult> {
  return (await c.client.callTool({ name, arguments: args })) as ToolResult;
}

export const textOf = (r: ToolResult): string => r.content.map((c) => c.text ?? '').join('\n');

/** A successful call's structured content. */
export function ok<T>(r: ToolResult): T {
  expect(r.isError, textOf(r)).toBeFalsy();
  expect(r.structuredContent).toBeDefined();
  return r.structuredContent as T;
}

/** A failed call: an MCP tool error with a message, never a stack trace. */
export function failed(r: ToolResult): string {
  expect(r.isError, JSON.stringify(r)).toBe(true);
  const text = textOf(r);
  expect(text.length).toBeGreaterThan(0);
  expect(text).not.toMatch(/\n\s+at /);
  return text;
}

export async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const TOOLS = ['acknowledge_alert', 'fleet_summary', 'get_device', 'list_alerts', 'list_devices', 'metric_history', 'poll_device', 'top_processes'];
