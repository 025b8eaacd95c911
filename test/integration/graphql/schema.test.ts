/** schema.graphql is what the Pothos schema prints, and the DESIGN §1 names exist in it. */
import fs from 'node:fs';
import path from 'node:path';
import { buildSchema, isEnumType, isInputObjectType, isObjectType, isUnionType, type GraphQLNamedType } from 'graphql';
import { expect, test } from 'vitest';
import { printSortedSchema, schema } from '../../../src/graphql/schema.ts';

test('schema.graphql is up to date (run `npm run schema:print` and commit it)', () => {
  const file = fs.readFileSync(path.join(import.meta.dirname, '../../../schema.graphql'), 'utf8');
  expect(file === printSortedSchema(), 'schema.graphql is stale: run `npm run schema:print` and commit it').toBe(true);
});

const type = (name: string): GraphQLNamedType => {
  const t = schema.getType(name);
  if (!t) throw new Error(`type ${name} missing`);
  return t;
};
const fieldsOf = (name: string): string[] => {
  const t = type(name);
  if (isObjectType(t) || isInputObjectType(t)) return Object.keys(t.getFields());
  throw new Error(`${name} has no fields`);
};

test('the contract names of DESIGN §1 exist', () => {
  expect(fieldsOf('Query')).toEqual(expect.arrayContaining(['devices', 'device', 'node', 'health', 'metricHistory', 'filesystemHistory', 'networkHistory', 'diskIoHistory', 'driveHealthHistory', 'containerHistory']));
  expect(fieldsOf('Device')).toEqual(expect.arrayContaining(['id', 'name', 'hostname', 'port', 'username', 'transport', 'status', 'lastSeenAt', 'lastError', 'hostKeyFingerprint', 'latestMetrics', 'filesystems', 'networkInterfaces', 'drives', 'containers', 'diskIo', 'tags', 'intervals', 'monitoringEnabled', 'statusChanges', 'corePercents']));
  expect(fieldsOf('SystemMetrics')).toEqual(expect.arrayContaining(['time', 'deviceId', 'cpuPercent', 'memUsedPercent', 'memTotalBytes', 'memAvailableBytes', 'load1', 'load5', 'load15', 'uptimeSeconds', 'netRxBytesPerSec', 'netTxBytesPerSec', 'diskReadBytesPerSec', 'diskWriteBytesPerSec']));
  const status = type('DeviceStatus');
  // Pothos sorts the schema, so compare as sets.
  expect(isEnumType(status) && status.getValues().map((v) => v.name).sort()).toEqual(['UNKNOWN', 'ONLINE', 'DEGRADED', 'OFFLINE', 'AUTH_FAILED', 'HOST_KEY_MISMATCH', 'DISABLED'].sort());
  expect(fieldsOf('MetricBucket')).toEqual(expect.arrayContaining(['time', 'cpuPercent', 'memUsedPercent']));
  expect(fieldsOf('MetricStat').sort()).toEqual(['avg', 'max', 'min']);
  expect(fieldsOf('CreateDeviceInput')).toEqual(expect.arrayContaining(['name', 'hostname', 'port', 'username', 'transport', 'privateKey', 'password', 'tags', 'monitoringEnabled', 'hostKeyFingerprint']));
  expect(fieldsOf('Mutation')).toEqual(expect.arrayContaining(['createDevice', 'updateDevice', 'deleteDevice', 'pollDevice', 'trustHostKey', 'testDeviceConnection', 'createCredential', 'deleteCredential']));
  expect(fieldsOf('Subscription')).toEqual(expect.arrayContaining(['metricCollected', 'deviceStatusChanged', 'containerStateChanged', 'driveHealthChanged']));
  expect(fieldsOf('DeviceStatusChange')).toEqual(expect.arrayContaining(['device', 'previous', 'current', 'at', 'reason']));
  // createDevice returns Device | ValidationError | ConflictError through the errors plugin's union.
  const result = schema.getMutationType()!.getFields().createDevice!.type;
  const union = 'ofType' in result ? result.ofType : result;
  expect(isUnionType(union) && union.getTypes().map((t) => t.name).sort()).toEqual(['ConflictError', 'Device', 'ValidationError']);
});

test('the printed schema parses on its own', () => {
  expect(() => buildSchema(printSortedSchema())).not.toThrow();
});
