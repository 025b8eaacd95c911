// `infrapulse simulate` and --register, against a local HTTP stub standing in for the API.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { registerDevices, runSimulate } from '../../../src/simulator/index.ts';
import { createSshRunner } from '../../../src/transport/ssh.ts';

interface Received {
  authorization: string | undefined;
  query: string;
}

/** A stand-in for the GraphQL API: answers createDevice aliases, refusing names in `taken`. */
async function graphqlStub(taken: Set<string> = new Set()): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  let nextId = 1;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const { query } = JSON.parse(body) as { query: string };
      received.push({ authorization: req.headers.authorization, query });
      if (req.headers.authorization !== 'Bearer secret-token') {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ message: 'not authenticated' }] }));
        return;
      }
      const data: Record<string, unknown> = {};
      const alias = /(d\d+): createDevice\(input: \{ name: ("[^"]*"), hostname: ("[^"]*"), port: (\d+), username: ("[^"]*"), password: ("[^"]*"), transport: SSH \}\) \{ __typename \.\.\. on Device \{ id \} \.\.\. on ValidationError \{ message \} \}/g;
      for (let m = alias.exec(query); m !== null; m = alias.exec(query)) {
        const name = JSON.parse(m[2]!) as string;
        data[m[1]!] = taken.has(name)
          ? { __typename: 'ValidationError', message: `a device named ${name} already exists` }
          : { __typename: 'Device', id: String(nextId++) };
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ data }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { url: `http://127.0.0.1:${port}/graphql`, received, close: () => new Promise((r) => server.close(() => r())) };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

describe('registerDevices', () => {
  it('sends createDevice mutations in batches with the bearer token and reports refusals', async () => {
    const stub = await graphqlStub(new Set(['host-0003']));
    closers.push(stub.close);
    const usernames = Array.from({ length: 30 }, (_, i) => `host-${String(i + 1).padStart(4, '0')}`);
    const r = await registerDevices({ url: stub.url, token: 'secret-token', hostname: '127.0.0.1', port: 2222, usernames, batchSize: 25 });
    expect(stub.received).toHaveLength(2);
    expect(stub.received.every((x) => x.authorization === 'Bearer secret-token')).toBe(true);
    expect(stub.received[0]!.query).toContain(
      'd0: createDevice(input: { name: "host-0001", hostname: "127.0.0.1", port: 2222, username: "host-0001", password: "simulated", transport: SSH })',
    );
    expect(stub.received[0]!.query.startsWith('mutation ')).toBe(true);
    expect(r.created).toHaveLength(29);
    expect(r.failed).toEqual([{ username: 'host-0003', message: 'a device named host-0003 already exists' }]);
  });

  it('fails loudly on a rejected token', async () => {
    const stub = await graphqlStub();
    closers.push(stub.close);
    await expect(
      registerDevices({ url: stub.url, token: 'wrong', hostname: '127.0.0.1', port: 2222, usernames: ['host-0001'] }),
    ).rejects.toThrow(/HTTP 401: not authenticated/);
  });
});

describe('runSimulate', () => {
  it('prints a summary, registers the fleet, serves it and stops on abort', async () => {
    const stub = await graphqlStub();
    closers.push(stub.close);
    const lines: string[] = [];
    const errors: string[] = [];
    const abort = new AbortController();
    let listening: (info: { host: string; port: number }) => void = () => {};
    const ready = new Promise<{ host: string; port: number }>((r) => (listening = r));
    const exit = runSimulate(['--devices', '3', '--port', '0', '--seed', '9', '--register', stub.url, '--token', 'secret-token'], {
      out: (l) => lines.push(l),
      err: (l) => errors.push(l),
      signal: abort.signal,
      onListening: listening,
    });
    const { host, port } = await ready;
    expect(lines[0]).toMatch(/^infrapulse simulate: 3 simulated SSH hosts on 127\.0\.0\.1:\d+ \(users host-0001 … host-0003, seed 9\); ANY password or key is accepted/);
    const runner = createSshRunner({ host, port, username: 'host-0003', password: 'whatever', keepaliveIntervalMs: 0 });
    expect((await runner.exec('hostname')).stdout).toBe('host-0003\n');
    await runner.close();
    await expect.poll(() => lines.some((l) => l.startsWith('registered'))).toBe(true);
    expect(lines).toContain(`registered 3 of 3 devices at ${stub.url}`);
    expect(stub.received[0]!.query).toContain(`port: ${port}`);
    abort.abort();
    expect(await exit).toBe(0);
    expect(errors).toEqual([]);
    expect(lines[lines.length - 1]).toMatch(/stopped after \d+ connections/);
  });

  it('rejects bad arguments with a one-line reason and exit 1', async () => {
    for (const argv of [[], ['--devices', 'many'], ['--devices', '3', '--register', 'http://x/graphql'], ['--devices', '3', '--bogus']]) {
      const errors: string[] = [];
      expect(await runSimulate(argv, { out: () => {}, err: (l) => errors.push(l) })).toBe(1);
      expect(errors[0]).toMatch(/^infrapulse simulate: /);
    }
  });
});
