/**
 * A real urql client against the real server: device CRUD, list filters and pagination,
 * validation errors with paths, conflicts, purge of history, and role checks.
 */
import { Client, fetchExchange, gql } from '@urql/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writeBatch } from '../../src/storage/index.ts';
import { emptyBatch } from '../../src/storage/types.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { containerRow, driveRow, filesystemRow, systemRow } from '../helpers/rows.ts';
import { generateEd25519Key } from '../../src/transport/keys.ts';

let app: TestApp;
let admin: Client;
let viewer: Client;
let operator: Client;
const key = generateEd25519Key();

function client(token: string): Client {
  return new Client({
    url: `${app.server.url}/graphql`,
    exchanges: [fetchExchange],
    requestPolicy: 'network-only',
    fetchOptions: () => ({ headers: { authorization: `Bearer ${token}` } }),
  });
}

async function tokenFor(role: 'VIEWER' | 'OPERATOR'): Promise<string> {
  const res = await admin.mutation<{ createApiToken: { token: string } }>(gql`mutation ($role: Role!) { createApiToken(input: { name: "t", role: $role }) { ... on CreatedApiToken { token } } }`, { role }).toPromise();
  return res.data!.createApiToken.token;
}

beforeAll(async () => {
  app = await startTestApp();
  admin = client(app.adminToken);
  viewer = client(await tokenFor('VIEWER'));
  operator = client(await tokenFor('OPERATOR'));
});
afterAll(async () => app?.close());

const CREATE = gql`
  mutation ($input: CreateDeviceInput!) {
    createDevice(input: $input) {
      __typename
      ... on Device { id name hostname port username transport status tags monitoringEnabled hasCredential credential { kind name } intervals { system containers drives systemOverride } }
      ... on ValidationError { message issues { path message } }
      ... on ConflictError { message field }
    }
  }
`;

type Created = { createDevice: { __typename: string; id?: string; name?: string; status?: string; hasCredential?: boolean; credential?: { kind: string } | null; issues?: { path: string[]; message: string }[]; field?: string; intervals?: { system: number; containers: number; drives: number; systemOverride: number | null } } };

const create = (c: Client, input: Record<string, unknown>) => c.mutation<Created>(CREATE, { input }).toPromise();

describe('devices over urql', () => {
  const ids: Record<string, string> = {};

  test('createDevice: SSH with a key, with a password, and LOCAL; secrets become credentials', async () => {
    const a = await create(operator, { name: 'web-01', hostname: 'web-01.example.com', username: 'monitor', privateKey: key, tags: ['prod', 'web'], intervals: { system: 60 } });
    expect(a.error).toBeUndefined();
    expect(a.data!.createDevice).toMatchObject({ __typename: 'Device', name: 'web-01', status: 'UNKNOWN', hasCredential: true, credential: { kind: 'PRIVATE_KEY' } });
    expect(a.data!.createDevice.intervals).toEqual({ system: 60, containers: 30, drives: 3600, systemOverride: 60 });
    ids.web = a.data!.createDevice.id!;
    const b = await create(operator, { name: 'db-01', hostname: '10.0.0.5', port: 2222, username: 'monitor', password: 's3cret', tags: ['prod', 'db'] });
    expect(b.data!.createDevice).toMatchObject({ __typename: 'Device', credential: { kind: 'PASSWORD' } });
    ids.db = b.data!.createDevice.id!;
    const c = await create(operator, { name: 'lab box', transport: 'LOCAL', tags: ['lab'], monitoringEnabled: false });
    expect(c.data!.createDevice).toMatchObject({ __typename: 'Device', status: 'DISABLED', hasCredential: false });
    ids.lab = c.data!.createDevice.id!;
    const v6 = await create(operator, { name: 'v6', hostname: '[2001:db8::1]', username: 'm', password: 'x' });
    expect(v6.data!.createDevice).toMatchObject({ __typename: 'Device' });
    ids.v6 = v6.data!.createDevice.id!;

    const stored = await app.db.prisma.credential.findMany();
    expect(stored).toHaveLength(3);
    for (const s of stored) {
      expect(Buffer.from(s.encryptedSecret).toString('utf8')).not.toContain('s3cret');
      expect(Buffer.from(s.encryptedSecret).toString('utf8')).not.toContain('PRIVATE KEY');
    }
  });

  test('duplicate name → ConflictError', async () => {
    const dup = await create(operator, { name: 'web-01', hostname: 'other', username: 'm', password: 'x' });
    expect(dup.data!.createDevice).toMatchObject({ __typename: 'ConflictError', field: 'name' });
    expect(await app.db.prisma.device.count()).toBe(4);
  });

  test('ValidationError lists every problem with its path; nothing is written', async () => {
    const before = await app.db.prisma.device.count();
    const bad = await create(operator, {
      name: 'x'.repeat(101),
      hostname: 'web; rm -rf /',
      port: 70000,
      username: '-oProxyCommand=evil',
      privateKey: 'not a key',
      tags: ['ok', 'bad tag!'],
      intervals: { system: 1, drives: 604_801 }, // drives allow a week, as POLLING_DRIVE_HEALTH_INTERVAL does
      hostKeyFingerprint: 'MD5:aa:bb',
    });
    const r = bad.data!.createDevice;
    expect(r.__typename).toBe('ValidationError');
    const paths = r.issues!.map((i) => i.path.join('.')).sort();
    expect(paths).toEqual(['input.hostKeyFingerprint', 'input.hostname', 'input.intervals.drives', 'input.intervals.system', 'input.name', 'input.port', 'input.privateKey', 'input.tags.1', 'input.username']);
    expect(JSON.stringify(r)).not.toContain('not a key');
    expect(await app.db.prisma.device.count()).toBe(before);
    expect(await app.db.prisma.credential.count()).toBe(3);
  });

  test('devices: filters by status, tag and text; cursor pagination', async () => {
    await app.db.prisma.device.update({ where: { id: ids.db! }, data: { status: 'OFFLINE' } });
    const LIST = gql`
      query ($first: Int, $after: String, $status: [DeviceStatus!], $tag: String, $search: String) {
        devices(first: $first, after: $after, status: $status, tag: $tag, search: $search) {
          totalCount
          edges { cursor node { name status } }
          pageInfo { hasNextPage endCursor }
        }
      }
    `;
    type L = { devices: { totalCount: number; edges: { node: { name: string; status: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    const names = (r: { data?: L }) => r.data!.devices.edges.map((e) => e.node.name);
    expect(names(await viewer.query<L>(LIST, {}).toPromise())).toEqual(['db-01', 'lab box', 'v6', 'web-01']);
    expect(names(await viewer.query<L>(LIST, { status: ['OFFLINE', 'DISABLED'] }).toPromise())).toEqual(['db-01', 'lab box']);
    expect(names(await viewer.query<L>(LIST, { tag: 'prod' }).toPromise())).toEqual(['db-01', 'web-01']);
    expect(names(await viewer.query<L>(LIST, { search: 'EXAMPLE.com' }).toPromise())).toEqual(['web-01']);
    expect(names(await viewer.query<L>(LIST, { search: 'lab' }).toPromise())).toEqual(['lab box']);

    const page1 = await viewer.query<L>(LIST, { first: 3 }).toPromise();
    expect(names(page1)).toEqual(['db-01', 'lab box', 'v6']);
    expect(page1.data!.devices.pageInfo.hasNextPage).toBe(true);
    expect(page1.data!.devices.totalCount).toBe(4);
    const page2 = await viewer.query<L>(LIST, { first: 3, after: page1.data!.devices.pageInfo.endCursor }).toPromise();
    expect(names(page2)).toEqual(['web-01']);
    expect(page2.data!.devices.pageInfo.hasNextPage).toBe(false);
  });

  test('device(id), device(name) and node(id) resolve the same device', async () => {
    const r = await viewer
      .query<{ a: { name: string }; b: { id: string }; n: { __typename: string; name: string } }>(
        gql`query ($id: ID!) { a: device(id: $id) { name } b: device(name: "web-01") { id } n: node(id: $id) { __typename ... on Device { name } } }`,
        { id: ids.web },
      )
      .toPromise();
    expect(r.data).toMatchObject({ a: { name: 'web-01' }, b: { id: ids.web }, n: { __typename: 'Device', name: 'web-01' } });
    const missing = await viewer.query<{ device: null }>(gql`{ device(id: "nope") { name } }`, {}).toPromise();
    expect(missing.data!.device).toBeNull();
  });

  test('updateDevice changes given fields only; null clears an override; validation and conflicts apply', async () => {
    const UPDATE = gql`
      mutation ($id: ID!, $input: UpdateDeviceInput!) {
        updateDevice(id: $id, input: $input) {
          __typename
          ... on Device { name hostname port tags monitoringEnabled status intervals { system systemOverride } credential { kind } }
          ... on ValidationError { issues { path } }
          ... on ConflictError { field }
          ... on NotFoundError { entity id }
        }
      }
    `;
    type U = { updateDevice: Record<string, unknown> };
    const ok = await operator.mutation<U>(UPDATE, { id: ids.web, input: { port: 2200, tags: ['prod'], intervals: { system: null }, monitoringEnabled: false } }).toPromise();
    expect(ok.data!.updateDevice).toEqual({
      __typename: 'Device', name: 'web-01', hostname: 'web-01.example.com', port: 2200, tags: ['prod'], monitoringEnabled: false, status: 'DISABLED',
      intervals: { system: 300, systemOverride: null }, credential: { kind: 'PRIVATE_KEY' },
    });
    const pw = await operator.mutation<U>(UPDATE, { id: ids.web, input: { password: 'new-pass' } }).toPromise();
    expect(pw.data!.updateDevice).toMatchObject({ credential: { kind: 'PASSWORD' } });
    expect(await app.db.prisma.credential.count()).toBe(3); // replaced in place, not added
    const bad = await operator.mutation<U>(UPDATE, { id: ids.web, input: { port: 0, hostname: 'a b' } }).toPromise();
    expect(bad.data!.updateDevice).toEqual({ __typename: 'ValidationError', issues: [{ path: ['input', 'hostname'] }, { path: ['input', 'port'] }] });
    const dup = await operator.mutation<U>(UPDATE, { id: ids.web, input: { name: 'db-01' } }).toPromise();
    expect(dup.data!.updateDevice).toEqual({ __typename: 'ConflictError', field: 'name' });
    const missing = await operator.mutation<U>(UPDATE, { id: 'nope', input: { port: 22 } }).toPromise();
    expect(missing.data!.updateDevice).toEqual({ __typename: 'NotFoundError', entity: 'Device', id: 'nope' });
  });

  test('deleteDevice keeps history by default and purges it on request', async () => {
    const t = new Date(Date.now() - 30_000);
    const seed = (id: string) => {
      const b = emptyBatch();
      b.system.push(systemRow(id, t));
      b.filesystems.push(filesystemRow(id, t, '/'));
      b.drives.push(driveRow(id, t, '/dev/sda'));
      b.containers.push(containerRow(id, t, 'web'), containerRow(id, t, 'db'));
      return writeBatch(app.db.prisma, b);
    };
    await seed(ids.lab!);
    await seed(ids.db!);
    const DELETE = gql`mutation ($id: ID!, $purge: Boolean) { deleteDevice(id: $id, purgeHistory: $purge) { __typename ... on DeletedDevice { id name purgedRows } ... on NotFoundError { id } } }`;
    type D = { deleteDevice: Record<string, unknown> };
    const kept = await operator.mutation<D>(DELETE, { id: ids.lab }).toPromise();
    expect(kept.data!.deleteDevice).toEqual({ __typename: 'DeletedDevice', id: ids.lab, name: 'lab box', purgedRows: 0 });
    const rows = async (id: string) => Number((await app.db.pool.query('SELECT count(*) FROM container_snapshots WHERE device_id = $1', [id])).rows[0].count);
    expect(await rows(ids.lab!)).toBe(2);
    const purged = await operator.mutation<D>(DELETE, { id: ids.db, purge: true }).toPromise();
    expect(purged.data!.deleteDevice).toEqual({ __typename: 'DeletedDevice', id: ids.db, name: 'db-01', purgedRows: 5 });
    expect(await rows(ids.db!)).toBe(0);
    expect(await app.db.prisma.credential.count()).toBe(2); // db-01's own credential went with it
    const again = await operator.mutation<D>(DELETE, { id: ids.db }).toPromise();
    expect(again.data!.deleteDevice).toEqual({ __typename: 'NotFoundError', id: ids.db });
  });

  test('a VIEWER may read but not mutate; an OPERATOR may not manage credentials', async () => {
    const denied = await create(viewer, { name: 'nope', hostname: 'h', username: 'u', password: 'p' });
    expect(denied.error?.graphQLErrors[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await app.db.prisma.device.count({ where: { name: 'nope' } })).toBe(0);
    const del = await viewer.mutation(gql`mutation ($id: ID!) { deleteDevice(id: $id) { __typename } }`, { id: ids.web }).toPromise();
    expect(del.error?.graphQLErrors[0]?.extensions?.code).toBe('FORBIDDEN');
    const cred = await operator.mutation(gql`mutation { createCredential(input: { name: "shared", password: "x" }) { __typename } }`, {}).toPromise();
    expect(cred.error?.graphQLErrors[0]?.extensions?.code).toBe('FORBIDDEN');
    const list = await viewer.query<{ devices: { totalCount: number } }>(gql`{ devices { totalCount } }`, {}).toPromise();
    expect(list.data!.devices.totalCount).toBe(2);
  });

  test('a stored password goes to a new destination only for an ADMIN or with the password given again', async () => {
    const shared = await admin.mutation<{ createCredential: { id: string } }>(gql`mutation { createCredential(input: { name: "shared-pw", password: "s3cret" }) { ... on Credential { id } } }`, {}).toPromise();
    const credentialId = shared.data!.createCredential.id;
    const viaShared = await create(operator, { name: 'pw-shared', hostname: 'evil.example.com', username: 'u', credentialId });
    expect(viaShared.data!.createDevice.__typename).toBe('ValidationError');
    expect(viaShared.data!.createDevice.issues?.[0]?.path).toEqual(['input', 'credentialId']);
    expect(await app.db.prisma.device.count({ where: { name: 'pw-shared' } })).toBe(0);

    const own = await create(operator, { name: 'pw-own', hostname: 'db.example.com', username: 'u', password: 'mine' });
    const id = own.data!.createDevice.id!;
    const UPDATE = gql`mutation ($id: ID!, $input: UpdateDeviceInput!) { updateDevice(id: $id, input: $input) { __typename ... on Device { hostname } ... on ValidationError { issues { path } } } }`;
    type U = { updateDevice: { __typename: string; hostname?: string; issues?: { path: string[] }[] } };
    const moved = await operator.mutation<U>(UPDATE, { id, input: { hostname: 'evil.example.com' } }).toPromise();
    expect(moved.data!.updateDevice).toEqual({ __typename: 'ValidationError', issues: [{ path: ['input', 'hostname'] }] });
    const withPassword = await operator.mutation<U>(UPDATE, { id, input: { hostname: 'db2.example.com', password: 'mine' } }).toPromise();
    expect(withPassword.data!.updateDevice).toEqual({ __typename: 'Device', hostname: 'db2.example.com' });
    const byAdmin = await admin.mutation<U>(UPDATE, { id, input: { hostname: 'db3.example.com' } }).toPromise();
    expect(byAdmin.data!.updateDevice).toEqual({ __typename: 'Device', hostname: 'db3.example.com' });
  });
});
