/**
 * Every GraphQL operation the dashboard sends, with the TypeScript shape of its result. A test
 * (test/unit/dashboard/documents.test.ts) validates each document against the server's schema,
 * so a renamed field fails there rather than in a browser. No DOM here: the test imports it.
 */

export type DeviceStatus = 'UNKNOWN' | 'ONLINE' | 'DEGRADED' | 'OFFLINE' | 'AUTH_FAILED' | 'HOST_KEY_MISMATCH' | 'DISABLED';
/** Display order: healthy first, then the kinds of trouble. */
export const DEVICE_STATUSES: readonly DeviceStatus[] = ['ONLINE', 'DEGRADED', 'OFFLINE', 'AUTH_FAILED', 'HOST_KEY_MISMATCH', 'UNKNOWN', 'DISABLED'];
export type Role = 'VIEWER' | 'OPERATOR' | 'ADMIN';
export type Severity = 'INFO' | 'WARNING' | 'CRITICAL';
export type AlertState = 'PENDING' | 'FIRING' | 'ACKNOWLEDGED' | 'RESOLVED';
export type Comparator = 'GT' | 'GTE' | 'LT' | 'LTE' | 'EQ' | 'NEQ';
/** In the order the rule form offers them; test/unit/dashboard/documents.test.ts pins these lists to the schema's enums. */
export const COMPARATORS: readonly Comparator[] = ['GT', 'GTE', 'LT', 'LTE', 'EQ', 'NEQ'];
// The rule vocabulary is the server's own (a pure module: nothing but constants reaches the bundle).
export { ALERT_METRICS, STATE_METRICS, STATE_VALUES, type AlertMetric } from '../../../src/alerts/rules.ts';
import type { AlertMetric } from '../../../src/alerts/rules.ts';

/**
 * Every typed error of the API's unions (Pothos errors plugin). `errorMessage` is an alias:
 * some results (Alert) have a `message` of their own.
 */
export interface ApiError {
  __typename: 'ValidationError' | 'ConflictError' | 'NotFoundError' | 'UnavailableError';
  errorMessage: string;
  issues?: { path: string[]; message: string }[];
}
/** For unions without ValidationError. */
const ERROR = `... on Error { errorMessage: message }`;
const ERRORS = `${ERROR} ... on ValidationError { issues { path message } }`;

/* ---------------------------------------------------------------- caller */

export interface Me {
  name: string;
  role: Role;
}
export const ME = `query Me { me { name role } }`;

/* ---------------------------------------------------------------- fleet */

export interface LiveSample {
  deviceId: string;
  time: string;
  cpuPercent: number | null;
  memUsedPercent: number;
  load1: number;
}
const SAMPLE = `deviceId time cpuPercent memUsedPercent load1`;

export interface FleetDevice {
  id: string;
  name: string;
  hostname: string;
  status: DeviceStatus;
  lastSeenAt: string | null;
  tags: string[];
  latestMetrics: LiveSample | null;
  filesystems: { usedPercent: number }[];
}
const FLEET_DEVICE = `id name hostname status lastSeenAt tags latestMetrics { ${SAMPLE} } filesystems { usedPercent }`;

export interface FleetPage {
  devices: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: FleetDevice }[] };
}
/**
 * Fifty devices first, so the first screenful is up early; then 500 a request, so a large fleet
 * is listed in few round trips (about 16 of GRAPHQL_MAX_COST per device: 8,000 a page).
 */
export const FLEET_PAGES = { first: 50, then: 500 };
export const FLEET = `query Fleet($first: Int!, $after: String) {
  devices(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { ${FLEET_DEVICE} } }
  }
}`;

export const FLEET_DEVICE_ONE = `query FleetDevice($id: ID!) { device(id: $id) { ${FLEET_DEVICE} } }`;
export interface FleetDeviceOne {
  device: FleetDevice | null;
}

export const LIVE_SAMPLES = `subscription LiveSamples { metricCollected { ${SAMPLE} } }`;
export interface LiveSamples {
  metricCollected: LiveSample;
}

/** The fullest filesystem is the overview's; each poll's filesystems arrive together. */
export const LIVE_FILESYSTEMS = `subscription LiveFilesystems { filesystemsCollected { deviceId filesystems { usedPercent } } }`;
export interface LiveFilesystems {
  filesystemsCollected: { deviceId: string; filesystems: { usedPercent: number }[] };
}

export interface StatusEvent {
  deviceId: string;
  previous: DeviceStatus;
  current: DeviceStatus;
  at: string;
  reason: string | null;
}
export const LIVE_STATUS = `subscription LiveStatus($deviceId: ID) { deviceStatusChanged(deviceId: $deviceId) { deviceId previous current at reason } }`;
export interface LiveStatus {
  deviceStatusChanged: StatusEvent;
}

/* ---------------------------------------------------------------- one device */

export interface Filesystem {
  mount: string;
  filesystem: string;
  fsType: string | null;
  sizeBytes: number;
  usedBytes: number;
  usedPercent: number;
}
export interface NetworkInterface {
  name: string;
  rxBytesPerSec: number | null;
  txBytesPerSec: number | null;
  rxErrorsPerSec: number | null;
  txErrorsPerSec: number | null;
}
export interface DiskIo {
  disk: string;
  readBytesPerSec: number | null;
  writeBytesPerSec: number | null;
  utilPercent: number | null;
}
export interface DriveSelfTest {
  kind: string;
  status: string;
  passed: boolean | null;
  lifetimeHours: number | null;
}
export interface Drive {
  drive: string;
  model: string | null;
  serial: string | null;
  capacityBytes: number | null;
  health: 'HEALTHY' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';
  healthReasons: string[];
  temperatureC: number | null;
  powerOnHours: number | null;
  percentUsed: number | null;
  /** The SMART self-test log, newest first. */
  selfTests: DriveSelfTest[];
  /** How far the error counters rose above the acknowledged ones (above zero when never acknowledged). */
  counterIncrease: number;
  acknowledged: { acknowledgedAt: string; acknowledgedBy: string | null } | null;
}
export interface Container {
  containerId: string;
  name: string;
  image: string;
  state: string;
  health: string | null;
  restartCount: number | null;
  cpuPercent: number | null;
  memUsageBytes: number | null;
  memLimitBytes: number | null;
}
export interface StatusChange {
  previous: DeviceStatus;
  current: DeviceStatus;
  at: string;
  reason: string | null;
}
export type CollectorStatus = 'OK' | 'FAILING' | 'UNAVAILABLE' | 'DISABLED';
/** One collector on the device (Device.collectors); `name` is a CollectorName (SYSTEM, DRIVES, CONTAINERS). */
export interface CollectorState {
  name: string;
  state: CollectorStatus | null;
  reason: string | null;
  lastRunAt: string | null;
  enabled: boolean;
  intervalSeconds: number;
  intervalOverride: number | null;
}
export interface DeviceDetail {
  id: string;
  name: string;
  hostname: string;
  port: number;
  username: string | null;
  transport: 'SSH' | 'LOCAL';
  status: DeviceStatus;
  lastSeenAt: string | null;
  lastError: string | null;
  hostKeyFingerprint: string | null;
  presentedHostKey: string | null;
  tags: string[];
  monitoringEnabled: boolean;
  sudoSmartctl: boolean;
  hasCredential: boolean;
  latestMetrics: (LiveSample & { cpuCount: number; memTotalBytes: number; uptimeSeconds: number }) | null;
  filesystems: Filesystem[];
  networkInterfaces: NetworkInterface[];
  diskIo: DiskIo[];
  drives: Drive[];
  containers: Container[];
  statusChanges: StatusChange[];
  collectors: CollectorState[];
}
const FILESYSTEM = `mount filesystem fsType sizeBytes usedBytes usedPercent`;
const INTERFACE = `name rxBytesPerSec txBytesPerSec rxErrorsPerSec txErrorsPerSec`;
const DISK = `disk readBytesPerSec writeBytesPerSec utilPercent`;
const DRIVE = `drive model serial capacityBytes health healthReasons temperatureC powerOnHours percentUsed
  selfTests { kind status passed lifetimeHours } counterIncrease acknowledged { acknowledgedAt acknowledgedBy }`;
const CONTAINER = `containerId name image state health restartCount cpuPercent memUsageBytes memLimitBytes`;
export const DEVICE = `query Device($id: ID!) {
  device(id: $id) {
    id name hostname port username transport status lastSeenAt lastError hostKeyFingerprint presentedHostKey tags
    monitoringEnabled sudoSmartctl hasCredential
    latestMetrics { ${SAMPLE} cpuCount memTotalBytes uptimeSeconds }
    filesystems { ${FILESYSTEM} }
    networkInterfaces { ${INTERFACE} }
    diskIo { ${DISK} }
    drives { ${DRIVE} }
    containers { ${CONTAINER} }
    statusChanges(limit: 20) { previous current at reason }
    collectors { name state reason lastRunAt enabled intervalSeconds intervalOverride }
  }
}`;
export interface DeviceResult {
  device: DeviceDetail | null;
}

export interface Stat {
  avg: number | null;
  min: number | null;
  max: number | null;
}
export interface Bucket {
  time: string;
  cpuPercent: Stat;
  cpuIowaitPercent: Stat;
  cpuStealPercent: Stat;
  memUsedPercent: Stat;
  load1: Stat;
  load5: Stat;
  load15: Stat;
  netRxBytesPerSec: Stat;
  netTxBytesPerSec: Stat;
  diskReadBytesPerSec: Stat;
  diskWriteBytesPerSec: Stat;
}
const STAT = `{ avg min max }`;
export const HISTORY = `query History($id: ID!, $from: DateTime!) {
  metricHistory(deviceId: $id, from: $from) {
    time cpuPercent ${STAT} cpuIowaitPercent ${STAT} cpuStealPercent ${STAT} memUsedPercent ${STAT}
    load1 ${STAT} load5 ${STAT} load15 ${STAT} netRxBytesPerSec ${STAT} netTxBytesPerSec ${STAT}
    diskReadBytesPerSec ${STAT} diskWriteBytesPerSec ${STAT}
  }
}`;
export interface HistoryResult {
  metricHistory: Bucket[];
}

export interface FullSample extends LiveSample {
  cpuCount: number;
  memTotalBytes: number;
  uptimeSeconds: number;
  cpuIowaitPercent: number | null;
  cpuStealPercent: number | null;
  load5: number;
  load15: number;
  netRxBytesPerSec: number | null;
  netTxBytesPerSec: number | null;
  diskReadBytesPerSec: number | null;
  diskWriteBytesPerSec: number | null;
}
export const DEVICE_SAMPLES = `subscription DeviceSamples($id: ID!) {
  metricCollected(deviceId: $id) { ${SAMPLE} cpuCount memTotalBytes uptimeSeconds cpuIowaitPercent cpuStealPercent load5 load15 netRxBytesPerSec netTxBytesPerSec diskReadBytesPerSec diskWriteBytesPerSec }
}`;
export interface DeviceSamples {
  metricCollected: FullSample;
}

/** Each poll's rows of one device, as the device page shows them (the same selections as DEVICE). */
export const DEVICE_FILESYSTEMS = `subscription DeviceFilesystems($id: ID!) { filesystemsCollected(deviceId: $id) { filesystems { ${FILESYSTEM} } } }`;
export const DEVICE_INTERFACES = `subscription DeviceInterfaces($id: ID!) { networkInterfacesCollected(deviceId: $id) { interfaces { ${INTERFACE} } } }`;
export const DEVICE_DISKS = `subscription DeviceDisks($id: ID!) { diskIoCollected(deviceId: $id) { disks { ${DISK} } } }`;
export const DEVICE_DRIVES = `subscription DeviceDrives($id: ID!) { drivesCollected(deviceId: $id) { drives { ${DRIVE} } } }`;
export const DEVICE_CONTAINERS = `subscription DeviceContainers($id: ID!) { containersCollected(deviceId: $id) { containers { ${CONTAINER} } } }`;
export interface DeviceFilesystems {
  filesystemsCollected: { filesystems: Filesystem[] };
}
export interface DeviceInterfaces {
  networkInterfacesCollected: { interfaces: NetworkInterface[] };
}
export interface DeviceDisks {
  diskIoCollected: { disks: DiskIo[] };
}
export interface DeviceDrives {
  drivesCollected: { drives: Drive[] };
}
export interface DeviceContainers {
  containersCollected: { containers: Container[] };
}

export const POLL_NOW = `mutation PollNow($id: ID!) {
  pollDevice(id: $id) { __typename ${ERROR} ... on PollResult { status durationMs skipped collectors { collector ok error problems } } }
}`;
export interface PollNowResult {
  pollDevice: (ApiError | { __typename: 'PollResult'; status: DeviceStatus; durationMs: number | null; skipped: string | null; collectors: { collector: string; ok: boolean; error: string | null; problems: string[] }[] });
}

export interface DeviceEdit {
  name?: string;
  hostname?: string;
  port?: number;
  username?: string | null;
  tags?: string[];
  monitoringEnabled?: boolean;
  sudoSmartctl?: boolean;
  collectors?: { name: string; enabled?: boolean; intervalSeconds?: number | null }[];
}
export const UPDATE_DEVICE = `mutation UpdateDevice($id: ID!, $input: UpdateDeviceInput!) {
  updateDevice(id: $id, input: $input) { __typename ${ERRORS} ... on Device { id } }
}`;
export interface UpdateDeviceResult {
  updateDevice: ApiError | { __typename: 'Device'; id: string };
}

export const TRUST_HOST_KEY = `mutation TrustHostKey($id: ID!, $fingerprint: String!) {
  trustHostKey(id: $id, fingerprint: $fingerprint) { __typename ${ERRORS} ... on Device { id hostKeyFingerprint } }
}`;
export interface TrustHostKeyResult {
  trustHostKey: ApiError | { __typename: 'Device'; id: string; hostKeyFingerprint: string | null };
}

/* ---------------------------------------------------------------- adding a host */

export interface SshIdentity {
  publicKey: string;
  fingerprint: string;
  authorizedKeysLine: string;
}
export const SSH_IDENTITY = `query SshIdentity { sshIdentity { __typename ${ERROR} ... on SshIdentity { publicKey fingerprint authorizedKeysLine } } }`;
export interface SshIdentityResult {
  sshIdentity: ApiError | ({ __typename: 'SshIdentity' } & SshIdentity);
}

export type ConnectionProblem = 'DNS' | 'REFUSED' | 'UNREACHABLE' | 'TIMEOUT' | 'AUTH' | 'HOST_KEY' | 'COMMAND' | 'OTHER';
export interface ConnectionTest {
  __typename: 'ConnectionTest';
  ok: boolean;
  latencyMs: number | null;
  hostKeyFingerprint: string | null;
  uname: string | null;
  error: string | null;
  problem: ConnectionProblem | null;
}
export interface HostInput {
  hostname: string;
  port: number;
  username: string;
  privateKey?: string;
  passphrase?: string;
  password?: string;
}
export const TEST_CONNECTION = `mutation TestConnection($input: TestConnectionInput!) {
  testDeviceConnection(input: $input) { __typename ${ERRORS} ... on ConnectionTest { ok latencyMs hostKeyFingerprint uname error problem } }
}`;
export interface TestConnectionResult {
  testDeviceConnection: ApiError | ConnectionTest;
}

export const CREATE_DEVICE = `mutation CreateDevice($input: CreateDeviceInput!) {
  createDevice(input: $input) { __typename ${ERRORS} ... on Device { id name } }
}`;
export interface CreateDeviceResult {
  createDevice: ApiError | { __typename: 'Device'; id: string; name: string };
}

/* ---------------------------------------------------------------- alerts */

export interface Alert {
  id: string;
  state: AlertState;
  severity: Severity;
  deviceId: string;
  deviceName: string;
  subject: string;
  message: string | null;
  value: string | null;
  pendingSince: string;
  firedAt: string | null;
  acknowledgedBy: string | null;
  ruleId: string;
  rule: { name: string };
}
const ALERT = `id state severity deviceId deviceName subject message value pendingSince firedAt acknowledgedBy ruleId rule { name }`;
export const OPEN_ALERTS = `query OpenAlerts($after: String) {
  alerts(state: [PENDING, FIRING, ACKNOWLEDGED], first: 50, after: $after) { pageInfo { hasNextPage endCursor } edges { node { ${ALERT} } } }
}`;
export interface OpenAlertsResult {
  alerts: { edges: { node: Alert }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}
export const LIVE_ALERTS = `subscription LiveAlerts { alertChanged { alertId state alert { ${ALERT} } } }`;
export interface LiveAlerts {
  alertChanged: { alertId: string; state: AlertState; alert: Alert | null };
}
export const ACKNOWLEDGE = `mutation Acknowledge($id: ID!) { acknowledgeAlert(id: $id) { __typename ${ERROR} ... on Alert { ${ALERT} } } }`;
export interface AcknowledgeResult {
  acknowledgeAlert: ApiError | ({ __typename: 'Alert' } & Alert);
}

export interface AlertRule {
  id: string;
  name: string;
  metric: AlertMetric;
  comparator: Comparator;
  threshold: number | null;
  value: string | null;
  forSeconds: number;
  severity: Severity;
  enabled: boolean;
  builtin: boolean;
  tags: string[];
}
const RULE = `id name metric comparator threshold value forSeconds severity enabled builtin tags`;
export const RULES = `query Rules { alertRules { ${RULE} } }`;
export interface RulesResult {
  alertRules: AlertRule[];
}
export interface RuleInput {
  name: string;
  metric: AlertMetric;
  comparator: Comparator;
  threshold: number | null;
  value: string | null;
  forSeconds: number;
  severity: Severity;
  tags: string[];
  enabled: boolean;
}
export const CREATE_RULE = `mutation CreateRule($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { __typename ${ERRORS} ... on AlertRule { ${RULE} } } }`;
export interface CreateRuleResult {
  createAlertRule: ApiError | ({ __typename: 'AlertRule' } & AlertRule);
}
export const UPDATE_RULE = `mutation UpdateRule($id: ID!, $input: UpdateAlertRuleInput!) { updateAlertRule(id: $id, input: $input) { __typename ${ERRORS} ... on AlertRule { ${RULE} } } }`;
export interface UpdateRuleResult {
  updateAlertRule: ApiError | ({ __typename: 'AlertRule' } & AlertRule);
}

export interface Silence {
  id: string;
  comment: string;
  createdBy: string | null;
  startsAt: string;
  endsAt: string;
  matchers: { deviceIds: string[]; ruleIds: string[]; severities: Severity[]; tags: string[] };
}
const SILENCE = `id comment createdBy startsAt endsAt matchers { deviceIds ruleIds severities tags }`;
export const SILENCES = `query Silences { silences(active: true) { ${SILENCE} } }`;
export interface SilencesResult {
  silences: Silence[];
}
export const CREATE_SILENCE = `mutation CreateSilence($input: CreateSilenceInput!) { createSilence(input: $input) { __typename ${ERRORS} ... on Silence { ${SILENCE} } } }`;
export interface CreateSilenceResult {
  createSilence: ApiError | ({ __typename: 'Silence' } & Silence);
}
export const EXPIRE_SILENCE = `mutation ExpireSilence($id: ID!, $endsAt: DateTime!) { updateSilence(id: $id, input: { endsAt: $endsAt }) { __typename ${ERRORS} ... on Silence { id endsAt } } }`;
export interface ExpireSilenceResult {
  updateSilence: ApiError | { __typename: 'Silence'; id: string; endsAt: string };
}

/* ---------------------------------------------------------------- one device: checks and hardware health */

export type { CheckStatus } from '../../../src/collectors/checks.ts';
import type { CheckStatus } from '../../../src/collectors/checks.ts';
export interface CheckResult {
  checkId: string;
  /** Null once the check is deleted. */
  check: { name: string } | null;
  status: CheckStatus;
  exitCode: number | null;
  message: string;
  time: string;
}
const CHECK_RESULT = `checkId check { name } status exitCode message time`;

export interface StoragePool {
  name: string;
  kind: 'ZFS' | 'MDRAID' | 'BTRFS';
  state: string;
  health: Drive['health'];
  level: string | null;
  sizeBytes: number | null;
  capPercent: number | null;
  scanInProgress: boolean;
  scanKind: string | null;
  scanPercent: number | null;
  errors: string | null;
  totalDevices: number | null;
  activeDevices: number | null;
}
const POOL = `name kind state health level sizeBytes capPercent scanInProgress scanKind scanPercent errors totalDevices activeDevices`;
export interface Sensor {
  sensor: string;
  chip: string | null;
  label: string;
  kind: 'TEMPERATURE' | 'FAN';
  value: number | null;
  status: string;
}
const SENSOR = `sensor chip label kind value status`;
export interface Gpu {
  gpu: string;
  name: string | null;
  temperatureC: number | null;
  utilizationPercent: number | null;
  memoryUsedBytes: number | null;
  memoryTotalBytes: number | null;
  powerDrawWatts: number | null;
}
const GPU = `gpu name temperatureC utilizationPercent memoryUsedBytes memoryTotalBytes powerDrawWatts`;

export interface DeviceHealth {
  checks: CheckResult[];
  pools: StoragePool[];
  raidArrays: StoragePool[];
  sensors: Sensor[];
  gpus: Gpu[];
}
export const DEVICE_HEALTH = `query DeviceHealth($id: ID!) {
  device(id: $id) { checks { ${CHECK_RESULT} } pools { ${POOL} } raidArrays { ${POOL} } sensors { ${SENSOR} } gpus { ${GPU} } }
}`;
export interface DeviceHealthResult {
  device: DeviceHealth | null;
}
/** checkResultChanged fires on a change of status (and a check's first result). */
export const DEVICE_CHECK_RESULTS = `subscription DeviceCheckResults($id: ID!) { checkResultChanged(deviceId: $id) { ${CHECK_RESULT} } }`;
export interface DeviceCheckResults {
  checkResultChanged: CheckResult;
}
/** Every kind of pool in one event: md arrays among them. */
export const DEVICE_POOLS = `subscription DevicePools($id: ID!) { poolsCollected(deviceId: $id) { pools { ${POOL} } } }`;
export interface DevicePools {
  poolsCollected: { pools: StoragePool[] };
}
export const DEVICE_SENSORS = `subscription DeviceSensors($id: ID!) { sensorsCollected(deviceId: $id) { sensors { ${SENSOR} } } }`;
export interface DeviceSensors {
  sensorsCollected: { sensors: Sensor[] };
}
export const DEVICE_GPUS = `subscription DeviceGpus($id: ID!) { gpusCollected(deviceId: $id) { gpus { ${GPU} } } }`;
export interface DeviceGpus {
  gpusCollected: { gpus: Gpu[] };
}

/** OPERATOR: the drive's current error counters become its baseline. `drive`: its serial, else its path. */
export const ACKNOWLEDGE_DRIVE = `mutation AcknowledgeDriveCounters($id: ID!, $drive: String!) {
  acknowledgeDriveCounters(deviceId: $id, drive: $drive) { __typename ${ERROR} ... on DriveBaseline { drive acknowledgedAt acknowledgedBy } }
}`;
export interface AcknowledgeDriveResult {
  acknowledgeDriveCounters: ApiError | { __typename: 'DriveBaseline'; drive: string; acknowledgedAt: string; acknowledgedBy: string | null };
}

/** Every document above, for the schema test. */
export const ALL_DOCUMENTS: Record<string, string> = {
  ME,
  FLEET,
  FLEET_DEVICE_ONE,
  LIVE_SAMPLES,
  LIVE_STATUS,
  DEVICE,
  HISTORY,
  DEVICE_SAMPLES,
  DEVICE_FILESYSTEMS,
  DEVICE_INTERFACES,
  DEVICE_DISKS,
  DEVICE_DRIVES,
  DEVICE_CONTAINERS,
  LIVE_FILESYSTEMS,
  POLL_NOW,
  UPDATE_DEVICE,
  TRUST_HOST_KEY,
  SSH_IDENTITY,
  TEST_CONNECTION,
  CREATE_DEVICE,
  OPEN_ALERTS,
  LIVE_ALERTS,
  ACKNOWLEDGE,
  RULES,
  CREATE_RULE,
  UPDATE_RULE,
  SILENCES,
  CREATE_SILENCE,
  EXPIRE_SILENCE,
  DEVICE_HEALTH,
  DEVICE_CHECK_RESULTS,
  DEVICE_POOLS,
  DEVICE_SENSORS,
  DEVICE_GPUS,
  ACKNOWLEDGE_DRIVE,
};

export type { ProcessOrder } from '../../../src/collectors/top-processes.ts';
import type { TopProcess as ServerProcess } from '../../../src/collectors/top-processes.ts';
/** The fields TOP_PROCESSES selects. */
export type TopProcess = Omit<ServerProcess, 'ppid' | 'state'>;
export interface TopProcesses {
  __typename: 'TopProcesses';
  time: string;
  cpuBasis: 'INTERVAL' | 'LIFETIME';
  sampleIntervalSeconds: number | null;
  processCount: number;
  processes: TopProcess[];
}
export interface TopProcessesResult {
  device: { topProcesses: TopProcesses | { __typename: 'DeviceCommandError' | 'ValidationError'; errorMessage: string } | null } | null;
}
/** OPERATOR: runs one command on the host (two samples half a second apart). */
export const TOP_PROCESSES = `query TopProcesses($id: ID!, $by: ProcessOrder!) { device(id: $id) { topProcesses(by: $by, limit: 10) {
  __typename ... on TopProcesses { time cpuBasis sampleIntervalSeconds processCount processes { pid user command cpuPercent memoryBytes ioReadBytesPerSecond ioWriteBytesPerSecond } }
  ${ERROR} } } }`;
