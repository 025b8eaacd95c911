/**
 * Fleet simulator (`infrapulse simulate`): one ssh2.Server that impersonates N Linux hosts
 * for demos, tests and the benchmark. The SSH username picks the host (host-0001 …); any
 * credentials are accepted. Each host is drawn from (seed, index) in profile.ts and answers
 * the collectors' commands from pure functions of wall-clock time (render-*.ts): counters grow
 * between polls, hosts reboot now and then, drives degrade, containers crash-loop, and on a
 * 30-minute cycle GPUs run hot, ZFS mirrors and md arrays lose a disk and resilver, fans stop,
 * and what checks look at fails and recovers (a systemd unit, the backup, a pending reboot).
 *
 *   server.ts     startSimulator(): TCP (TCP_NODELAY) → ssh2, auth, exec dispatch; a batched exec
 *                 (transport/batch.ts, one per poll) answered section by section; stats() counts exec
 *                 requests (`execRequests`) apart from the commands in them (`execs` by kind)
 *   commands.ts   which command is which (exact collector text, then section markers); 127 otherwise
 *   profile.ts    HostProfile: CPUs, memory, NICs, drives and their fate, filesystems, containers
 *   render-system.ts / render-drives.ts / render-containers.ts   output in the real tools' formats
 *   render-hardware.ts   zpool/mdstat, hwmon and nvidia-smi answers, and the fault cycle (hardwareFaults)
 *   render-checks.ts     what checks run: systemctl, the reboot flag, check_disk/check_load/check_file_age
 *   register.ts   createDevice through the GraphQL API (--register)
 *   cli.ts        runSimulate(argv)
 */
export { startSimulator, generateHostKey, hostKeyFingerprint, SIMULATOR_ALGORITHMS } from './server.ts';
export type { Simulator, SimulatorOptions, SimulatedHost, SimulatedDrive, SimulatorStats } from './server.ts';
export { runSimulate, SIMULATE_USAGE } from './cli.ts';
export { registerDevices, createDeviceMutation, SIMULATED_PASSWORD } from './register.ts';
export { buildHostProfile, usernameFor, expectedDriveHealth } from './profile.ts';
export type { HostProfile } from './profile.ts';
