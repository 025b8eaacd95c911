import type { Config } from '../config.ts';
import type { Database } from '../db/index.ts';
import type { SecretBox } from '../db/secrets.ts';
import type { EventBus } from '../events/index.ts';
import type { Logger } from '../log.ts';
import type { Poller } from '../poller/index.ts';

import type { Principal } from '../tokens.ts';

export type { Principal, Role } from '../tokens.ts';

/**
 * What the server hands every resolver. `services` is built once per server; `auth` per
 * request or WebSocket connection. Services the API calls on the poller are optional so the
 * schema can be built (schema:print) and served without polling.
 */
export interface Services {
  config: Config;
  db: Database;
  events: EventBus;
  log: Logger;
  secrets: SecretBox;
  startedAt: Date;
  version: string;
  poller?: PollerApi;
  /** Live counts for Query.health and /metrics: subscribers per transport. */
  subscribers: { ws: number; sse: number };
}

/** The slice of the poller the API uses, with the poller's own types. */
export type PollerApi = Pick<Poller, 'pollNow' | 'collectorStates' | 'deviceChanged' | 'trustHostKey' | 'stats'> & Partial<Pick<Poller, 'execOn'>>;

export interface Context extends Services {
  auth: Principal | null;
}
