/**
 * The dashboard's only way to the server: urql for queries and mutations over HTTP (Bearer
 * header) and subscriptions over graphql-ws on /graphql (`{ authorization: "Bearer …" }` in
 * connectionParams), both with the signed-in token. A token the server refuses (HTTP 401,
 * WebSocket close 4401/4403) ends the session through `onAuthFailure`: nothing retries a token
 * that can never work again.
 */
import { Client, fetchExchange, subscriptionExchange, type AnyVariables, type CombinedError } from '@urql/core';
import { createClient as createWsClient } from 'graphql-ws';
import { ME, type Me } from './documents.ts';

export type Connection = 'connecting' | 'live' | 'reconnecting';

export interface Api {
  query<T>(document: string, variables?: AnyVariables): Promise<T>;
  /** Mutations: typed errors come back as data (the API's unions); anything else throws. */
  mutate<T>(document: string, variables?: AnyVariables): Promise<T>;
  /** Every result of a subscription until the returned function is called. */
  subscribe<T>(document: string, variables: AnyVariables, onData: (data: T) => void, onError?: (message: string) => void): () => void;
  /**
   * Settles once the server listens on every subscription opened before the call: a query sent
   * after them on the socket, which the server answers only then (src/server/ws.ts, "Order").
   * Not answered within SUBSCRIBED_WAIT_MS (a socket not live yet), it settles anyway: the caller
   * loads without the guarantee, and `onResync` fires once the answer comes.
   */
  subscribed(): Promise<void>;
  /** Connection state of the WebSocket; `resynced` fires after a reconnect (events may have been missed). */
  onConnection(listener: (state: Connection) => void): () => void;
  onResync(listener: () => void): () => void;
  close(): void;
}

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

/** Why a session ends without the user asking. */
export type AuthFailure = 'refused' | 'rate-limited';

const WS_TOKEN_REFUSED = new Set([4401, 4403]);
const WS_RATE_LIMITED = 4429;
/** How long `subscribed()` waits for a socket that is not live yet. */
const SUBSCRIBED_WAIT_MS = 3000;
const ORDER_QUERY = 'query Subscribed { __typename }';

function describe(error: CombinedError): ApiError {
  const first = error.graphQLErrors[0];
  if (first) return new ApiError(first.message, typeof first.extensions?.code === 'string' ? first.extensions.code : null);
  return new ApiError(error.networkError ? `The server cannot be reached (${error.networkError.message}).` : error.message, 'NETWORK');
}

export function createApi(token: string, onAuthFailure: (why: AuthFailure) => void): Api {
  const authorization = `Bearer ${token}`;
  let failed = false;
  const fail = (why: AuthFailure) => {
    if (failed) return;
    failed = true;
    onAuthFailure(why);
  };

  const connectionListeners = new Set<(state: Connection) => void>();
  const resyncListeners = new Set<() => void>();
  let state: Connection = 'connecting';
  let everConnected = false;
  const setState = (next: Connection) => {
    state = next;
    for (const l of connectionListeners) l(next);
  };

  const ws = createWsClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    connectionParams: { authorization },
    lazy: true,
    // Quiet moments must not look like a dead connection to proxies, nor a dead one like a quiet one.
    keepAlive: 10_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: (event) => !(event instanceof CloseEvent && (WS_TOKEN_REFUSED.has(event.code) || event.code === WS_RATE_LIMITED)),
    on: {
      connecting: () => setState(everConnected ? 'reconnecting' : 'connecting'),
      connected: () => {
        const again = everConnected;
        everConnected = true;
        setState('live');
        if (again) for (const l of resyncListeners) l();
      },
      closed: (event) => {
        if (event instanceof CloseEvent) {
          if (WS_TOKEN_REFUSED.has(event.code)) return fail('refused');
          if (event.code === WS_RATE_LIMITED) return fail('rate-limited');
        }
        if (state === 'live') setState('reconnecting');
      },
    },
  });

  const client = new Client({
    url: '/graphql',
    requestPolicy: 'network-only',
    preferGetMethod: false,
    fetchOptions: () => ({ headers: { authorization } }),
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      if (res.status === 401) fail('refused');
      return res;
    },
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({ unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink) }),
        }),
      }),
    ],
  });

  /** Callers within one tick share a query, sent after all their subscriptions (graphql-ws sends in call order). */
  let barrier: Promise<void> | null = null;
  const subscribed = (): Promise<void> =>
    (barrier ??= new Promise<void>((resolve) => {
      let gaveUp = false;
      const timer = setTimeout(() => {
        gaveUp = true;
        resolve();
      }, SUBSCRIBED_WAIT_MS);
      const settle = () => {
        clearTimeout(timer);
        if (!gaveUp) return resolve();
        for (const l of resyncListeners) l();
      };
      setTimeout(() => {
        barrier = null;
        ws.subscribe({ query: ORDER_QUERY }, { next: () => undefined, error: settle, complete: settle });
      }, 0);
    }));

  async function run<T>(kind: 'query' | 'mutation', document: string, variables: AnyVariables): Promise<T> {
    const result = await (kind === 'query' ? client.query(document, variables) : client.mutation(document, variables)).toPromise();
    if (result.error) throw describe(result.error);
    if (!result.data) throw new ApiError('The server sent no data.', null);
    return result.data as T;
  }

  return {
    query: (document, variables = {}) => run('query', document, variables),
    mutate: (document, variables = {}) => run('mutation', document, variables),
    subscribe(document, variables, onData, onError) {
      const { unsubscribe } = client.subscription(document, variables).subscribe((result) => {
        if (result.error) onError?.(describe(result.error).message);
        else if (result.data) onData(result.data as never);
      });
      return unsubscribe;
    },
    subscribed,
    onConnection(listener) {
      connectionListeners.add(listener);
      listener(state);
      return () => connectionListeners.delete(listener);
    },
    onResync(listener) {
      resyncListeners.add(listener);
      return () => resyncListeners.delete(listener);
    },
    close() {
      failed = true;
      void ws.dispose();
    },
  };
}

/** Signs in: asks who the token belongs to, with nothing else open yet. */
export async function whoAmI(token: string): Promise<{ ok: true; me: Me } | { ok: false; message: string }> {
  let res: Response;
  try {
    res = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: ME }),
    });
  } catch {
    return { ok: false, message: 'The server cannot be reached. Is infrapulse running?' };
  }
  if (res.status === 401) return { ok: false, message: 'This token was refused: it is wrong, revoked or expired.' };
  if (res.status === 429) return { ok: false, message: `Too many failed sign-ins from this address. Try again in ${res.headers.get('retry-after') ?? 'a few'} seconds.` };
  const body = (await res.json().catch(() => null)) as { data?: { me?: Me }; errors?: { message: string }[] } | null;
  if (body?.data?.me) return { ok: true, me: body.data.me };
  return { ok: false, message: body?.errors?.[0]?.message ?? `The server answered HTTP ${res.status}.` };
}
