/** One way to answer a tool call: compact text plus structured content; failures are MCP tool errors. */
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { ToolError, type ToolContext } from '../graphql.ts';

export interface ToolAnswer {
  text: string;
  structured: Record<string, unknown>;
}

/** The registration fields every tool sets; read-only tools say so, the others name their role in the description. */
export function toolConfig<Shape>(spec: { title: string; description: string; inputSchema: Shape; readOnly: boolean }) {
  const annotations: ToolAnnotations = { title: spec.title, readOnlyHint: spec.readOnly, destructiveHint: false, openWorldHint: false };
  return { title: spec.title, description: spec.description, inputSchema: spec.inputSchema, annotations };
}

/** Wraps a tool's work: ToolError → its message as a tool error; anything else is logged and said to be internal. */
export function answer<A>(ctx: ToolContext, name: string, run: (args: A) => Promise<ToolAnswer>): (args: A) => Promise<CallToolResult> {
  return async (args) => {
    try {
      const { text, structured } = await run(args);
      return { content: [{ type: 'text', text }], structuredContent: structured };
    } catch (err) {
      if (err instanceof ToolError) return { isError: true, content: [{ type: 'text', text: err.message }] };
      // A bug: its message and stack stay in the log, never in the answer.
      ctx.log.error({ err, tool: name, tokenId: ctx.principal.tokenId }, 'MCP tool failed unexpectedly');
      return { isError: true, content: [{ type: 'text', text: `${name} failed with an internal error; the server log has the details` }] };
    }
  };
}
