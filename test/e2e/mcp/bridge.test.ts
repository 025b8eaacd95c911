/**
 * `infrapulse mcp --url --token`, spawned for real and driven by the SDK's StdioClientTransport:
 * it relays requests, answers and server notifications unchanged (so roles hold), turns a
 * refused token into an answer instead of silence, and ends its session when stdin closes.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ResourceListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createLogger } from '../../../src/log.ts';
import { createApiToken } from '../../../src/tokens.ts';
import { startTestApp, type TestApp } from '../../helpers/app.ts';
import { call, failed, ok, TOOLS, until, type Connected } from './support.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(ROOT, 'bin/infrapulse.js');

let app: TestApp;
let viewer: string;
const log: { msg?: string; reason?: string }[] = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) log.push(JSON.parse(l) as (typeof log)[number]);
      done();
    },
  });
  app = await startTestApp({}, { log: createLogger('info', sink) });
  await app.gql('mutation { createDevice(input: { name: "box", hostname: "127.0.0.2", username: "u", password: "pw" }) { __typename } }');
  viewer = (await createApiToken(app.db.prisma, { name: 'bridge viewer', role: 'VIEWER' })).token;
});
afterAll(async () => {
  await app?.close();
});

function bridge(url: string, token: string): { client: Client; transport: StdioClientTransport; stderr: () => string } {
  const transport = new StdioClientTransport({ command: process.execPath, args: [BIN, 'mcp', '--url', url, '--token', token], cwd: ROOT, stderr: 'pipe' });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { client: new Client({ name: 'bridge-test', version: '1.0.0' }), transport, stderr: () => err };
}

test('the stdio bridge relays tools, refusals and notifications, and says goodbye when stdin closes', { timeout: 60_000 }, async () => {
  const b = bridge(app.server.url, viewer); // the server's URL: the bridge adds /mcp
  await b.client.connect(b.transport);
  const c = { client: b.client } as Connected;
  expect((await b.client.listTools()).tools.map((t) => t.name).sort()).toEqual(TOOLS);
  const list = ok<{ devices: { name: string }[] }>(await call(c, 'list_devices'));
  expect(list.devices.map((d) => d.name)).toEqual(['box']);
  expect(failed(await call(c, 'poll_device', { device: 'box' }))).toContain('role VIEWER may not do this');

  let changes = 0;
  b.client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void changes++);
  await until('the bridge\'s event stream to be open', async () => log.some((l) => l.msg === 'MCP session opened'));
  await new Promise((r) => setTimeout(r, 300));
  await app.gql('mutation { createDevice(input: { name: "box-2", hostname: "127.0.0.3", username: "u", password: "pw" }) { __typename } }');
  await until('a list-changed notification through the bridge', async () => changes > 0, 10_000);
  expect((await b.client.listResources()).resources.map((r) => r.name).sort()).toEqual(['box', 'box-2']);

  const started = Date.now();
  await b.client.close(); // ends the bridge's stdin
  // It left by itself (the SDK would signal it after 2 s) and ended its session with a DELETE.
  expect(Date.now() - started).toBeLessThan(2000);
  await until('the bridge\'s session to end', async () => log.some((l) => l.msg === 'MCP session closed' && l.reason === 'deleted by the client'));
  expect(b.stderr()).not.toMatch(/\n\s+at /);
});

test('a refused token is an answer, not silence', { timeout: 30_000 }, async () => {
  const b = bridge(`${app.server.url}/mcp`, 'ipt_wrong_token_000000000000000000000');
  await expect(b.client.connect(b.transport)).rejects.toThrow(/a valid API token is required/);
  expect(b.stderr()).toContain('401');
  await b.client.close();
});

test('usage: --help prints it; missing or bad arguments exit 2 with a reason', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, 'mcp', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  const help = run('--help');
  expect(help.status).toBe(0);
  expect(help.stdout).toContain('usage: infrapulse mcp --url URL --token T');
  expect(run('--url', 'http://127.0.0.1:1').status).toBe(2);
  const bad = run('--url', 'ftp://example', '--token', 't');
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain('--url must be http:// or https://');
  expect(spawnSync(process.execPath, [BIN, '--help'], { cwd: ROOT, encoding: 'utf8' }).stdout).toContain('mcp --url URL --token T');
});
