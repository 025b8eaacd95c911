/** The schema: every type module registers itself on the builder when imported. */
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.ts';
import './types/errors.ts';
import './types/health.ts';
import './types/tokens.ts';
import './types/metrics.ts';
import './types/alerts.ts';
import './types/channels.ts';
import './types/silences.ts';
import './types/drives.ts';
import './types/containers.ts';
import './types/samples.ts';
import './types/hardware.ts';
import './types/credentials.ts';
import './types/devices.ts';
import './types/device-status.ts';
import './types/device-mutations.ts';
import './types/device-poll.ts';
import './types/device-connection.ts';
import './types/processes.ts';
import './types/checks.ts';
import './types/identity.ts';

export const schema: GraphQLSchema = builder.toSchema();

/** What `npm run schema:print` writes to schema.graphql (sorted, so diffs stay small). */
export function printSortedSchema(): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
