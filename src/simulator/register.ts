// Creates the simulated hosts as devices through the GraphQL API (`simulate --register`).
// Several createDevice mutations go in one request under aliases, as many as the server's
// default limits allow (config.ts is the one source: aliases and tokens per operation), and a
// 429 (mutation rate limit) or 503 is waited out for its Retry-After, so a 1,000-host fleet
// registers against a server at default settings, just not faster than it allows. Values are
// inlined as JSON strings, which are valid GraphQL string literals, so this does not depend on
// the input type's name.
import { parse } from 'graphql';
import { loadConfig } from '../config.ts';

export interface RegisterOptions {
  /** The API's GraphQL endpoint, e.g. http://127.0.0.1:9101/graphql. */
  url: string;
  token: string;
  /** Address and port the poller should connect to. */
  hostname: string;
  port: number;
  usernames: readonly string[];
  /** Any password works on the simulator; this one is stored with each device. */
  password?: string;
  /** Mutations per request at most (default: what the server's default limits accept). */
  batchSize?: number;
  fetch?: typeof fetch;
  /** Told after each batch and before each wait. */
  onProgress?: (p: RegisterProgress) => void;
}

export type RegisterProgress =
  | { kind: 'batch'; done: number; total: number }
  | { kind: 'waiting'; seconds: number; status: number; done: number; total: number };

export interface RegisterResult {
  created: { username: string; id: string | null }[];
  failed: { username: string; message: string }[];
}

export const SIMULATED_PASSWORD = 'simulated';

/** A batch's request is refused this many times in a row (429/503 waits excluded) before giving up. */
const MAX_WAITS = 1000;

interface Entry {
  username: string;
  hostname: string;
  port: number;
  password: string;
}

export function createDeviceMutation(entries: readonly Entry[]): string {
  const fields = entries.map(
    (e, i) =>
      `  d${i}: createDevice(input: { name: ${JSON.stringify(e.username)}, hostname: ${JSON.stringify(e.hostname)}, ` +
      `port: ${e.port}, username: ${JSON.stringify(e.username)}, password: ${JSON.stringify(e.password)}, transport: SSH }) ` +
      '{ __typename ... on Device { id } ... on ValidationError { message } }',
  );
  return `mutation RegisterSimulatedDevices {\n${fields.join('\n')}\n}`;
}

/** Within the server's default token limit (graphql's parser counts tokens as graphql-armor does). */
function withinTokens(query: string, maxTokens: number): boolean {
  try {
    parse(query, { maxTokens });
    return true;
  } catch {
    return false;
  }
}

type Fetch = typeof fetch;

interface GraphqlResponse {
  data?: Record<string, unknown> | null;
  errors?: { message?: unknown; extensions?: { code?: unknown } }[];
}

interface Answer {
  status: number;
  retryAfterSeconds: number | undefined;
  body: GraphqlResponse;
  text: string;
}

async function post(doFetch: Fetch, url: string, token: string, query: string): Promise<Answer> {
  const res = await doFetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${url} answered HTTP ${res.status} with non-JSON: ${text.slice(0, 200)}`);
  }
  const retryAfter = Number(res.headers.get('retry-after'));
  return {
    status: res.status,
    retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    body: (typeof body === 'object' && body !== null ? body : {}) as GraphqlResponse,
    text,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const why = (a: Answer) => a.body.errors?.map((e) => String(e.message)).join('; ') || a.text.slice(0, 200);

/**
 * Sends one batch until the server takes it: waits out 429/503 (Retry-After), halves the batch
 * when the server refuses the operation itself (limits below the defaults). Returns the answer
 * and how many of `entries` it covered.
 */
async function sendBatch(o: RegisterOptions, entries: readonly Entry[], progress: { done: number; total: number }): Promise<{ answer: Answer; sent: number }> {
  const doFetch = o.fetch ?? fetch;
  let size = entries.length;
  for (let waits = 0; waits < MAX_WAITS; waits++) {
    const answer = await post(doFetch, o.url, o.token, createDeviceMutation(entries.slice(0, size)));
    if (answer.body.data) return { answer, sent: size };
    if (answer.status === 429 || answer.status === 503) {
      const seconds = answer.retryAfterSeconds ?? 1;
      o.onProgress?.({ kind: 'waiting', seconds, status: answer.status, ...progress });
      await sleep(seconds * 1000);
      continue;
    }
    // The operation itself refused (aliases, tokens, cost below the defaults): Yoga answers 200
    // or 400 with errors and no data. A smaller batch may fit.
    if ((answer.status === 200 || answer.status === 400) && size > 1) {
      size = Math.ceil(size / 2);
      continue;
    }
    throw new Error(answer.status === 200 ? `createDevice failed: ${why(answer)}` : `${o.url} answered HTTP ${answer.status}: ${why(answer)}`);
  }
  throw new Error(`${o.url} kept refusing after ${MAX_WAITS} tries`);
}

export async function registerDevices(o: RegisterOptions): Promise<RegisterResult> {
  const limits = loadConfig({}).limits;
  const password = o.password ?? SIMULATED_PASSWORD;
  const all: Entry[] = o.usernames.map((username) => ({ username, hostname: o.hostname, port: o.port, password }));
  const result: RegisterResult = { created: [], failed: [] };
  let start = 0;
  let cap = o.batchSize ?? limits.maxAliases;
  while (start < all.length) {
    let size = Math.max(1, Math.min(cap, all.length - start));
    while (size > 1 && !withinTokens(createDeviceMutation(all.slice(start, start + size)), limits.maxTokens)) size--;
    const { answer, sent } = await sendBatch(o, all.slice(start, start + size), { done: start, total: all.length });
    const topErrors = (answer.body.errors ?? []).map((e) => String(e.message));
    all.slice(start, start + sent).forEach(({ username }, i) => {
      const r = answer.body.data?.[`d${i}`];
      const obj = typeof r === 'object' && r !== null ? (r as Record<string, unknown>) : undefined;
      if (obj?.__typename === 'Device') {
        result.created.push({ username, id: typeof obj.id === 'string' ? obj.id : null });
      } else {
        const message = typeof obj?.message === 'string' ? obj.message : obj !== undefined ? String(obj.__typename) : (topErrors[0] ?? 'no result');
        result.failed.push({ username, message });
      }
    });
    start += sent;
    cap = Math.min(cap, sent);
    o.onProgress?.({ kind: 'batch', done: start, total: all.length });
  }
  return result;
}
