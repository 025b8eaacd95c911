/**
 * What the API asks of the poller about one device: poll it now, take a change to its row,
 * trust its host key, report its collectors, run a command over its connection. Each first makes sure this instance holds the
 * device's lease when it can, so the instance that took the change polls the device.
 */
import { COLLECTOR_NAMES } from '../collectors/index.ts';
import type { PrismaClient } from '../db/generated/client.ts';
import type { Logger } from '../log.ts';
import { FINGERPRINT_RE } from '../transport/host-key.ts';
import { TransportError } from '../transport/types.ts';
import { viewOf } from './collector-state.ts';
import type { Connections } from './connections.ts';
import { loadDevice, type DeviceSync } from './device-sync.ts';
import { DeviceNotFoundError, InvalidFingerprintError } from './errors.ts';
import type { Ownership } from './ownership.ts';
import type { DeviceRuntime, PollOutcome } from './poll-device.ts';
import type { Intervals, Scheduler } from './scheduler.ts';
import type { Poller } from './index.ts';

export interface DeviceCommandsOptions {
  prisma: PrismaClient;
  log: Logger;
  runtimes: ReadonlyMap<string, DeviceRuntime>;
  scheduler: Pick<Scheduler<PollOutcome>, 'runNow' | 'setDevice'>;
  connections: Pick<Connections, 'close' | 'get'>;
  ownership: Pick<Ownership, 'ensureHeld' | 'drop' | 'holds'>;
  devices: Pick<DeviceSync, 'sync'>;
  intervalsOf(rt: DeviceRuntime): Intervals;
}

export type DeviceCommands = Pick<Poller, 'pollNow' | 'deviceChanged' | 'trustHostKey' | 'collectorStates' | 'execOn'>;

export function createDeviceCommands(options: DeviceCommandsOptions): DeviceCommands {
  const { prisma, log, runtimes, scheduler, connections, ownership, devices } = options;
  return {
    async pollNow(deviceId, collectors) {
      if (!runtimes.has(deviceId)) {
        const device = await loadDevice(prisma, deviceId);
        if (!device) throw new DeviceNotFoundError(deviceId);
        const lease = await ownership.ensureHeld(deviceId);
        await devices.sync(device, lease.polledUntil === undefined ? {} : { polledUntil: lease.polledUntil });
      }
      // Every collector, UNAVAILABLE ones included: an explicit poll is also their re-probe. Switched-off ones never run.
      const names = collectors && collectors.length > 0 ? collectors : [...COLLECTOR_NAMES];
      return scheduler.runNow(deviceId, names);
    },

    async deviceChanged(deviceId) {
      const device = await loadDevice(prisma, deviceId);
      if (!device) {
        await ownership.drop(deviceId);
        log.info({ deviceId }, 'device removed from polling');
        return;
      }
      const lease = await ownership.ensureHeld(deviceId);
      await devices.sync(device, lease.polledUntil === undefined ? { soon: true } : { polledUntil: lease.polledUntil });
    },

    async trustHostKey(deviceId, fingerprint) {
      if (!FINGERPRINT_RE.test(fingerprint)) {
        throw new InvalidFingerprintError(`not an SSH SHA-256 fingerprint: expected SHA256: followed by 43 base64 characters`);
      }
      const device = await loadDevice(prisma, deviceId);
      if (!device) throw new DeviceNotFoundError(deviceId);
      await prisma.device.update({ where: { id: deviceId }, data: { hostKeyFingerprint: fingerprint, pendingHostKey: null } });
      log.info({ deviceId, fingerprint, previous: device.hostKeyFingerprint }, 'host key trusted');
      // The pinned key changed, so the runner is rebuilt (no backoff carried over) and polling resumes.
      await connections.close(deviceId);
      await devices.sync({ ...device, hostKeyFingerprint: fingerprint, pendingHostKey: null }, {});
      const rt = runtimes.get(deviceId);
      if (device.monitoringEnabled && ownership.holds(deviceId) && rt) scheduler.setDevice(deviceId, options.intervalsOf(rt));
      return scheduler.runNow(deviceId, [...COLLECTOR_NAMES]);
    },

    execOn(deviceId, command, execOptions) {
      const rt = runtimes.get(deviceId);
      if (!rt || !ownership.holds(deviceId) || !rt.device.monitoringEnabled) return undefined;
      // Nothing is sent to a host that may be an impostor until a person trusts its key.
      if (rt.status === 'HOST_KEY_MISMATCH') return Promise.reject(new TransportError('HOST_KEY', 'the host presented another key than the pinned one: check it, then trustHostKey'));
      const device = rt.device;
      return Promise.resolve().then(() => connections.get(device).exec(command, execOptions));
    },

    collectorStates(deviceId) {
      const rt = runtimes.get(deviceId);
      if (!rt) return undefined;
      const settings = { disabled: rt.device.disabledCollectors, monitoringEnabled: rt.device.monitoringEnabled };
      return COLLECTOR_NAMES.map((name) => viewOf(name, rt.collectors.get(name), settings));
    },
  };
}
