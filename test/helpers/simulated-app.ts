/**
 * The whole app (startApp: server, poller, event bus) on a test database of its own, polling the
 * fleet simulator, whose hosts are registered through the API (as `simulate --register` does).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createLogger, type Logger } from '../../src/log.ts';
import { startApp, type App } from '../../src/main.ts';
import { registerDevices, startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { createTestDatabase } from './db.ts';

export interface SimulatedApp {
  app: App;
  sim: Simulator;
  /** App, simulator, database and data directory, in that order; safe after a failed start. */
  stop(): Promise<void>;
}

export async function startSimulatedApp(o: {
  simulator: SimulatorOptions;
  /** The app's environment on top of the test's database, port 0, a fresh DATA_DIR and MONITOR_LOCALHOST=false. */
  env: Record<string, string> & { INFRAPULSE_ADMIN_TOKEN: string };
  log?: Logger;
  /** Runs once the app is up, before the hosts are registered (listeners that must see the first events). */
  beforeRegister?: (app: App) => void;
}): Promise<SimulatedApp> {
  const db = await createTestDatabase();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-simulated-'));
  let sim: Simulator | undefined;
  let app: App | undefined;
  const stop = async () => {
    await app?.stop();
    await sim?.stop();
    await db.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    sim = await startSimulator(o.simulator);
    app = await startApp(loadConfig({ DATABASE_URL: db.url, PORT: '0', DATA_DIR: dataDir, MONITOR_LOCALHOST: 'false', ...o.env }), o.log ?? createLogger('silent'));
    o.beforeRegister?.(app);
    const reg = await registerDevices({ url: `${app.server.url}/graphql`, token: o.env.INFRAPULSE_ADMIN_TOKEN, hostname: sim.host, port: sim.port, usernames: sim.usernames });
    if (reg.failed.length > 0) throw new Error(`simulated hosts not registered: ${JSON.stringify(reg.failed)}`);
    return { app, sim, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
