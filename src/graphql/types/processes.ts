/**
 * Device.topProcesses: the busiest processes right now, from one exec of TOP_PROCESSES_COMMAND
 * on demand, over the connection the poller keeps to the device (or, where this instance does
 * not poll it, a connection of its own, closed afterwards). OPERATOR, as pollDevice: reading it
 * runs a command on the host. Nothing is stored.
 */
import type { Device as DeviceRow } from '../../db/generated/client.ts';
import {
  parseTopProcesses,
  rankProcesses,
  TOP_PROCESSES_COMMAND,
  TOP_PROCESSES_EXEC,
  TOP_PROCESSES_MAX_OUTPUT_BYTES,
  TOP_PROCESSES_TIMEOUT_MS,
  type ProcessOrder,
  type TopProcess,
  type TopSample,
} from '../../collectors/top-processes.ts';
import { ParseError } from '../../collectors/types.ts';
import { sshIdentity } from '../../security/ssh-identity.ts';
import { credentialSecret, openRunner } from '../../transport/connect.ts';
import { TransportError, type ExecResult, type TransportErrorKind } from '../../transport/types.ts';
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import { DeviceRef } from './devices.ts';
import { ErrorInterface, ValidationError } from './errors.ts';

const MAX_LIMIT = 100;
/** Each device costs an exec on its host: a request over the whole fleet must not fan out to it. */
export const TOP_PROCESSES_MAX_DEVICES = 10;

/* ---------------------------------------------------------------- errors */

type DeviceCommandProblem = 'DISABLED' | 'HOST_KEY' | 'UNREACHABLE' | 'AUTH' | 'TIMEOUT' | 'OUTPUT_LIMIT' | 'COMMAND';

/** A command the API ran on a device (on demand) did not give an answer. */
export class DeviceCommandError extends Error {
  override readonly name = 'DeviceCommandError';
  constructor(
    message: string,
    readonly deviceId: string,
    readonly problem: DeviceCommandProblem,
  ) {
    super(message);
  }
}

const DeviceCommandProblemEnum = builder.enumType('DeviceCommandProblem', {
  description: 'Why a command run on a device on demand gave no answer.',
  values: {
    DISABLED: { description: 'Monitoring is switched off for the device: nothing is run on it.' },
    HOST_KEY: { description: 'The host key is not the pinned one (trustHostKey), or none is pinned yet (poll the device first).' },
    UNREACHABLE: { description: 'No connection (refused, unreachable, DNS, handshake timeout, dropped), or the host is in reconnect backoff.' },
    AUTH: { description: 'The host refused the login.' },
    TIMEOUT: { description: 'The command ran past its time limit and was stopped.' },
    OUTPUT_LIMIT: { description: 'The command printed more than the limit.' },
    COMMAND: { description: 'The command ran but its output could not be read (see message).' },
  } as const,
});

builder.objectType(DeviceCommandError, {
  name: 'DeviceCommandError',
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof DeviceCommandError,
  fields: (t) => ({
    deviceId: t.exposeID('deviceId'),
    problem: t.field({ type: DeviceCommandProblemEnum, resolve: (e) => e.problem }),
  }),
});

const PROBLEM_BY_KIND: Record<TransportErrorKind, DeviceCommandProblem> = {
  CONNECT: 'UNREACHABLE',
  CLOSED: 'UNREACHABLE',
  AUTH: 'AUTH',
  HOST_KEY: 'HOST_KEY',
  TIMEOUT: 'TIMEOUT',
  OUTPUT_LIMIT: 'OUTPUT_LIMIT',
};

/* ---------------------------------------------------------------- running the command */

interface Sampled {
  time: Date;
  sample: TopSample;
}


/** A connection of its own, as testDeviceConnection makes one, for a device this instance does not poll. */
async function execAlone(ctx: Context, id: string): Promise<ExecResult> {
  const device = await ctx.db.prisma.device.findUnique({ where: { id }, include: { credential: true } });
  if (!device) throw new DeviceCommandError(`device ${id} is gone`, id, 'COMMAND');
  // Without the poller's trust-on-first-use bookkeeping, an unpinned host could be anyone.
  if (device.transport === 'SSH' && !device.hostKeyFingerprint) {
    throw new DeviceCommandError('no host key is pinned for this device yet: poll it first (its first poll records the key)', id, 'HOST_KEY');
  }
  const ownKey = () => sshIdentity(ctx.config.dataDir, ctx.secrets).privateKey;
  let runner: ReturnType<typeof openRunner> | undefined;
  try {
    runner = openRunner(device, () => credentialSecret(device, device.credential, ctx.secrets, ownKey), {
      readyTimeoutMs: TOP_PROCESSES_TIMEOUT_MS,
      execTimeoutMs: TOP_PROCESSES_TIMEOUT_MS,
      keepaliveIntervalMs: 0,
      maxOutputBytes: TOP_PROCESSES_MAX_OUTPUT_BYTES,
    });
    return await runner.exec(TOP_PROCESSES_COMMAND, TOP_PROCESSES_EXEC);
  } finally {
    await runner?.close().catch(() => undefined);
  }
}

async function sample(ctx: Context, id: string): Promise<Sampled> {
  const time = new Date();
  let result: ExecResult;
  try {
    result = await (ctx.poller?.execOn?.(id, TOP_PROCESSES_COMMAND, TOP_PROCESSES_EXEC) ?? execAlone(ctx, id));
  } catch (e) {
    if (e instanceof TransportError) throw new DeviceCommandError(e.message, id, PROBLEM_BY_KIND[e.kind]);
    throw e;
  }
  try {
    return { time, sample: parseTopProcesses(result.stdout) };
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    const stderr = result.stderr.trim().split('\n', 1)[0]?.slice(0, 200);
    ctx.log.info({ deviceId: id, exitCode: result.code, err: e.message }, 'top processes: unreadable output');
    throw new DeviceCommandError(`unreadable output (exit code ${String(result.code)}${stderr ? `: ${stderr}` : ''}): ${e.message}`, id, 'COMMAND');
  }
}

/** Requests for the same device while a sample is being taken share it: a burst costs the host one exec. */
const inFlight = new WeakMap<object, Map<string, Promise<Sampled>>>();

function sampleShared(ctx: Context, id: string): Promise<Sampled> {
  let running = inFlight.get(ctx.db);
  if (!running) inFlight.set(ctx.db, (running = new Map()));
  const current = running.get(id);
  if (current) return current;
  const next = sample(ctx, id).finally(() => running.delete(id));
  running.set(id, next);
  return next;
}

/** Devices each request (context) has asked for. */
const asked = new WeakMap<Context, Set<string>>();

/* ---------------------------------------------------------------- GraphQL */

const ProcessOrderEnum = builder.enumType('ProcessOrder', {
  values: {
    CPU: { description: 'CPU % over the sample interval.' },
    MEMORY: { description: 'Resident memory (RSS).' },
    IO: { description: 'Storage reads + writes per second; processes whose I/O is unreadable come last.' },
  } as const,
});

const CpuBasisEnum = builder.enumType('CpuBasis', {
  values: {
    INTERVAL: { description: 'Over the sample interval: what the process uses now (as top shows it).' },
    LIFETIME: { description: 'The average over each process\'s life (ps %CPU): the host has no readable /proc.' },
  } as const,
});

const TopProcessRef = builder.objectRef<TopProcess>('TopProcess').implement({
  fields: (t) => ({
    pid: t.exposeInt('pid'),
    ppid: t.exposeInt('ppid', { nullable: true }),
    user: t.exposeString('user', { nullable: true }),
    command: t.exposeString('command', { description: 'The whole command line; the kernel\'s 15-byte process name where ps gave none.' }),
    state: t.exposeString('state', { nullable: true, description: 'R running, S sleeping, D disk wait, Z zombie, T stopped, I idle (proc(5)).' }),
    cpuPercent: t.exposeFloat('cpuPercent', { nullable: true, description: 'Percent of one CPU (a process busy on two shows 200); see TopProcesses.cpuBasis.' }),
    memoryBytes: t.field({ type: 'Long', nullable: true, description: 'Resident set size.', resolve: (p) => p.memoryBytes }),
    ioReadBytesPerSecond: t.exposeFloat('ioReadBytesPerSecond', { nullable: true, description: 'From /proc/[pid]/io read_bytes; null when unreadable (another user\'s process unless the device logs in as root).' }),
    ioWriteBytesPerSecond: t.exposeFloat('ioWriteBytesPerSecond', { nullable: true, description: 'From /proc/[pid]/io write_bytes; null when unreadable.' }),
  }),
});

interface TopProcessesResult extends Sampled {
  by: ProcessOrder;
  limit: number;
}

const TopProcessesRef = builder.objectRef<TopProcessesResult>('TopProcesses').implement({
  description: 'The busiest processes of a device at one moment, from two samples taken on the host.',
  fields: (t) => ({
    time: t.field({ type: 'DateTime', description: 'When the command started.', resolve: (r) => r.time }),
    by: t.field({ type: ProcessOrderEnum, resolve: (r) => r.by }),
    cpuBasis: t.field({ type: CpuBasisEnum, resolve: (r) => r.sample.cpuBasis }),
    sampleIntervalSeconds: t.float({ nullable: true, description: 'Between the two samples (host uptime); null for LIFETIME.', resolve: (r) => r.sample.intervalSeconds }),
    processCount: t.int({ description: 'Processes seen (the command\'s own left out).', resolve: (r) => r.sample.processes.length }),
    processes: t.field({ type: [TopProcessRef], description: 'The busiest `limit`, highest first.', resolve: (r) => rankProcesses(r.sample.processes, r.by, r.limit) }),
  }),
});

builder.objectField(DeviceRef, 'topProcesses', (t) =>
  t.field({
    type: TopProcessesRef,
    // Null (with the error) for a VIEWER, so the rest of the device still answers.
    nullable: true,
    authScopes: { operator: true },
    errors: { types: [DeviceCommandError, ValidationError] },
    description: `Runs one command on the device now (two samples 0.5 s apart, ${TOP_PROCESSES_TIMEOUT_MS / 1000} s at most) and returns its busiest processes. OPERATOR, like pollDevice; at most ${TOP_PROCESSES_MAX_DEVICES} devices per request; not in subscriptions.`,
    args: {
      by: t.arg({ type: ProcessOrderEnum, required: false, defaultValue: 'CPU' }),
      limit: t.arg.int({ required: false, defaultValue: 10, description: `1 to ${MAX_LIMIT}.` }),
    },
    resolve: async (device: DeviceRow, args, ctx, info) => {
      const by = args.by ?? 'CPU';
      const limit = args.limit ?? 10;
      if (limit < 1 || limit > MAX_LIMIT) throw new ValidationError('invalid limit', [{ path: ['limit'], message: `must be 1 to ${MAX_LIMIT}` }]);
      if (info.operation.operation === 'subscription') {
        throw new ValidationError('topProcesses runs a command on the host: query it, do not subscribe to it', [{ path: ['topProcesses'], message: 'not available in subscriptions' }]);
      }
      let seen = asked.get(ctx);
      if (!seen) asked.set(ctx, (seen = new Set()));
      seen.add(device.id);
      if (seen.size > TOP_PROCESSES_MAX_DEVICES) {
        throw new ValidationError(`topProcesses runs a command on each device: at most ${TOP_PROCESSES_MAX_DEVICES} devices per request`, [{ path: ['topProcesses'], message: 'too many devices' }]);
      }
      if (!device.monitoringEnabled) throw new DeviceCommandError('monitoring is switched off for this device: nothing is run on it', device.id, 'DISABLED');
      if (device.status === 'HOST_KEY_MISMATCH') throw new DeviceCommandError('the host presented another key than the pinned one: check it, then trustHostKey', device.id, 'HOST_KEY');
      return { ...(await sampleShared(ctx, device.id)), by, limit };
    },
  }),
);
