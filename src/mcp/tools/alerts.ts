/** list_alerts and acknowledge_alert. */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { parseWhen, TIME_HELP } from '../format.ts';
import { enumValues, operation, run, ToolError, TYPED_ERROR_FIELDS, unwrap, type ToolContext, type TypedError } from '../graphql.ts';
import { answer, toolConfig } from './define.ts';
import { findDevice } from './devices.ts';

export interface AlertRow {
  id: string;
  state: string;
  severity: string;
  deviceId: string;
  deviceName: string;
  subject: string;
  message: string | null;
  value: string | null;
  pendingSince: string;
  firedAt: string | null;
  resolvedAt: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  rule: { name: string; metric: string };
}

export const ALERT_FIELDS = 'id state severity deviceId deviceName subject message value pendingSince firedAt resolvedAt acknowledgedAt acknowledgedBy rule { name metric }';

export const LIST_ALERTS = operation(`query McpAlerts($state: [AlertState!], $deviceId: ID, $since: DateTime, $first: Int, $after: String) {
  alerts(state: $state, deviceId: $deviceId, since: $since, first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { ${ALERT_FIELDS} } }
  }
}`);

export interface AlertPage {
  alerts: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: AlertRow }[] };
}

export function alertLine(a: AlertRow): string {
  const where = a.subject ? `${a.deviceName} ${a.subject}` : a.deviceName;
  const since = a.resolvedAt ? `resolved ${a.resolvedAt}` : a.firedAt ? `firing since ${a.firedAt}` : `pending since ${a.pendingSince}`;
  const ack = a.acknowledgedBy ? `, acknowledged by ${a.acknowledgedBy}` : '';
  return `[${a.state}] ${a.severity} ${where}: ${a.message ?? a.rule.name} (${since}${ack}; id ${a.id})`;
}

const ACKNOWLEDGE = operation(`mutation McpAcknowledgeAlert($id: ID!) {
  acknowledgeAlert(id: $id) { __typename ... on Alert { ${ALERT_FIELDS} } ${TYPED_ERROR_FIELDS} }
}`);

export function registerAlertTools(server: McpServer, ctx: ToolContext): void {
  server.registerTool(
    'list_alerts',
    toolConfig({
      title: 'List alerts',
      description: 'Alerts newest first: what fired, on which device and subject (mount point, drive, container), and its state. Pass nextCursor back as cursor for the next page.',
      readOnly: true,
      inputSchema: {
        state: z.array(z.enum(enumValues('AlertState'))).optional().describe('Only alerts in any of these states'),
        device: z.string().min(1).max(200).optional().describe('Only this device (id or name)'),
        since: z.string().max(40).optional().describe(`Only alerts open at some time since then: ${TIME_HELP}`),
        limit: z.number().int().min(1).max(200).default(50).describe('Alerts per page'),
        cursor: z.string().max(500).optional().describe('nextCursor of the previous page'),
      },
    }),
    answer(ctx, 'list_alerts', async (args) => {
      const since = args.since ? parseWhen(args.since) : null;
      if (args.since && !since) throw new ToolError(`since: expected ${TIME_HELP}`);
      const deviceId = args.device ? (await findDevice(ctx, args.device)).id : undefined;
      const page = await run<AlertPage>(ctx, LIST_ALERTS, { state: args.state, deviceId, since: since?.toISOString(), first: args.limit, after: args.cursor });
      const alerts = page.alerts.edges.map((e) => e.node);
      const nextCursor = page.alerts.pageInfo.hasNextPage ? page.alerts.pageInfo.endCursor : null;
      const head = `${alerts.length} alert(s) on this page${nextCursor ? ` (more: cursor "${nextCursor}")` : ''}`;
      return { text: [head, ...alerts.map((a) => `- ${alertLine(a)}`)].join('\n'), structured: { alerts, nextCursor } };
    }),
  );

  server.registerTool(
    'acknowledge_alert',
    toolConfig({
      title: 'Acknowledge an alert',
      description: 'Marks a FIRING alert as being handled: it stops repeating notifications and still resolves by itself. Needs an OPERATOR token.',
      readOnly: false,
      inputSchema: { id: z.string().min(1).max(200).describe('The alert\'s id (list_alerts shows it)') },
    }),
    answer(ctx, 'acknowledge_alert', async (args) => {
      const data = await run<{ acknowledgeAlert: (AlertRow & { __typename: 'Alert' }) | TypedError }>(ctx, ACKNOWLEDGE, { id: args.id });
      const { __typename: _t, ...alert } = unwrap(data.acknowledgeAlert);
      return { text: alertLine(alert), structured: { alert } };
    }),
  );
}
