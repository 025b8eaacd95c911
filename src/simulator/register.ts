// Creates the simulated hosts as devices through the GraphQL API (`simulate --register`).
// Several createDevice mutations go in one request under aliases: a 1,000-host fleet is
// 40 requests, not 1,000. Values are inlined as JSON strings, which are valid GraphQL string
// literals, so this does not depend on the input type's name.

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
  batchSize?: number;
  fetch?: typeof fetch;
}

export interface RegisterResult {
  created: { username: string; id: string | null }[];
  failed: { username: string; message: string }[];
}

export const SIMULATED_PASSWORD = 'simulated';

export function createDeviceMutation(
  entries: readonly { username: string; hostname: string; port: number; password: string }[],
): string {
  const fields = entries.map(
    (e, i) =>
      `  d${i}: createDevice(input: { name: ${JSON.stringify(e.username)}, hostname: ${JSON.stringify(e.hostname)}, ` +
      `port: ${e.port}, username: ${JSON.stringify(e.username)}, password: ${JSON.stringify(e.password)}, transport: SSH }) ` +
      '{ __typename ... on Device { id } ... on ValidationError { message } }',
  );
  return `mutation RegisterSimulatedDevices {\n${fields.join('\n')}\n}`;
}

type Fetch = typeof fetch;

interface GraphqlResponse {
  data?: Record<string, unknown> | null;
  errors?: { message?: unknown }[];
}

async function post(doFetch: Fetch, url: string, token: string, query: string): Promise<GraphqlResponse> {
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
  const parsed = (typeof body === 'object' && body !== null ? body : {}) as GraphqlResponse;
  if (!res.ok && !parsed.data) {
    const why = parsed.errors?.map((e) => String(e.message)).join('; ') || text.slice(0, 200);
    throw new Error(`${url} answered HTTP ${res.status}: ${why}`);
  }
  return parsed;
}

export async function registerDevices(o: RegisterOptions): Promise<RegisterResult> {
  const doFetch = o.fetch ?? fetch;
  const batch = Math.max(1, o.batchSize ?? 25);
  const password = o.password ?? SIMULATED_PASSWORD;
  const result: RegisterResult = { created: [], failed: [] };
  for (let start = 0; start < o.usernames.length; start += batch) {
    const names = o.usernames.slice(start, start + batch);
    const query = createDeviceMutation(names.map((username) => ({ username, hostname: o.hostname, port: o.port, password })));
    const res = await post(doFetch, o.url, o.token, query);
    const topErrors = (res.errors ?? []).map((e) => String(e.message));
    if (!res.data) throw new Error(`createDevice failed: ${topErrors.join('; ') || 'no data in the response'}`);
    names.forEach((username, i) => {
      const r = res.data?.[`d${i}`];
      const obj = typeof r === 'object' && r !== null ? (r as Record<string, unknown>) : undefined;
      if (obj?.__typename === 'Device') {
        result.created.push({ username, id: typeof obj.id === 'string' ? obj.id : null });
      } else {
        const message =
          typeof obj?.message === 'string'
            ? obj.message
            : obj !== undefined
              ? String(obj.__typename)
              : (topErrors[0] ?? 'no result');
        result.failed.push({ username, message });
      }
    });
  }
  return result;
}
