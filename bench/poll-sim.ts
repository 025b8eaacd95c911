/** Child process: the fleet simulator (src/simulator) for N hosts, apart from the poller so their CPU is not mixed. */
import { startSimulator } from '../src/simulator/index.ts';
import type { FromSim, ToSim } from './poll-protocol.ts';

const send = (m: FromSim): void => void process.send?.(m);

process.once('message', (m: { devices: number }) => {
  startSimulator({ devices: m.devices, port: 0, host: '127.0.0.1', seed: 1 })
    .then((sim) => {
      process.on('message', (q: ToSim) => {
        if (q.type !== 'usage') return;
        const u = process.cpuUsage();
        send({ type: 'usage', cpuUs: u.user + u.system, execs: Object.values(sim.stats().execs).reduce((a, b) => a + b, 0) });
      });
      send({ type: 'ready', host: sim.host, port: sim.port, fingerprint: sim.hostKeyFingerprint, usernames: sim.hosts.map((h) => h.username) });
    })
    .catch((e: unknown) => {
      send({ type: 'error', message: (e as Error).stack ?? String(e) });
      process.exit(1);
    });
});
