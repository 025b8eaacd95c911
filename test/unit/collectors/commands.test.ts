// The commands run on hosts are documented verbatim in docs/host-commands.md and are valid sh.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SYSTEM_COMMAND } from '../../../src/collectors/system.ts';
import { DRIVES_COMMAND, DRIVES_COMMAND_SUDO } from '../../../src/collectors/drives.ts';
import { CONTAINERS_COMMAND } from '../../../src/collectors/containers.ts';
import { BTRFS_DEVICE_STATS_COMMAND, MDSTAT_COMMAND, ZPOOL_LIST_COMMAND, ZPOOL_STATUS_COMMAND } from '../../../src/collectors/storage.ts';
import { HWMON_COMMAND } from '../../../src/collectors/sensors.ts';
import { NVIDIA_SMI_COMMAND } from '../../../src/collectors/gpu.ts';
import { PROC_PID_STAT_COMMAND, PS_COMMAND } from '../../../src/collectors/processes.ts';
import { SYSTEMCTL_COMMAND, SYSTEMCTL_FAILED_COMMAND } from '../../../src/collectors/systemd.ts';
import { TOP_PROCESSES_COMMAND } from '../../../src/collectors/top-processes.ts';
import { STORAGE_COMMAND } from '../../../src/collectors/pools.ts';
import { GPU_COMMAND } from '../../../src/collectors/gpu-collector.ts';

const COMMANDS: Record<string, string> = {
  SYSTEM_COMMAND, DRIVES_COMMAND, DRIVES_COMMAND_SUDO, CONTAINERS_COMMAND, MDSTAT_COMMAND, ZPOOL_LIST_COMMAND,
  ZPOOL_STATUS_COMMAND, BTRFS_DEVICE_STATS_COMMAND, HWMON_COMMAND, NVIDIA_SMI_COMMAND, PS_COMMAND,
  PROC_PID_STAT_COMMAND, SYSTEMCTL_COMMAND, SYSTEMCTL_FAILED_COMMAND, TOP_PROCESSES_COMMAND, STORAGE_COMMAND, GPU_COMMAND,
};

describe('commands run on hosts', () => {
  const doc = readFileSync(new URL('../../../docs/host-commands.md', import.meta.url), 'utf8');

  for (const [name, command] of Object.entries(COMMANDS)) {
    it(`${name} is in docs/host-commands.md as the code has it, and parses as sh`, () => {
      expect(doc).toContain(`\`${name}\``);
      expect(doc, `docs/host-commands.md must show ${name} exactly as src/collectors has it`).toContain(`\n${command}\n`);
      expect(() => execFileSync('/bin/sh', ['-n', '-c', command])).not.toThrow();
    });
  }
});
