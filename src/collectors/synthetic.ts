// Builds realistic SYSTEM_COMMAND output for any host size, so the benchmark (and tests) can
// time parsing a big host (64 CPUs, 50 interfaces, 80 disks) without owning one.
// Deterministic: the same options give the same text; a later `poll` gives larger counters.
import { rng } from '../random.ts';

export interface SyntheticHost {
  cpus?: number;
  interfaces?: number;
  disks?: number;
  filesystems?: number;
  /** 0 for the first poll, 1 for the next one (counters grow, uptime advances 30 s), … */
  poll?: number;
  seed?: number;
}

export function syntheticSystemOutput(host: SyntheticHost = {}): string {
  const { cpus = 64, interfaces = 50, disks = 80, filesystems = 20, poll = 0, seed = 1 } = host;
  const r = rng(seed);
  const uptime = 864_000 + poll * 30;
  const base = (scale: number) => Math.floor(r() * scale);
  const grow = (start: number, perPoll: number) => start + poll * perPoll;
  const out: string[] = [];
  out.push('@@ip:uptime', `${uptime}.42 ${uptime * cpus * 0.9}.17`);

  out.push('@@ip:stat');
  const cores: number[][] = [];
  for (let c = 0; c < cpus; c++) {
    const user = base(1e7);
    cores.push([
      grow(user, 900 + base(600)), grow(base(1e4), 5), grow(base(3e6), 300), grow(base(9e7), 2000),
      grow(base(1e5), 20), 0, grow(base(1e5), 10), grow(base(1e4), 3), 0, 0,
    ]);
  }
  const sum = cores.reduce((acc, c) => acc.map((v, i) => v + (c[i] ?? 0)), new Array<number>(10).fill(0));
  out.push(`cpu  ${sum.join(' ')}`);
  cores.forEach((c, i) => out.push(`cpu${i} ${c.join(' ')}`));
  out.push(`intr ${grow(9_000_000_000, 100000)} ${'0 '.repeat(200).trim()}`);
  out.push(`ctxt ${grow(20_000_000_000, 500000)}`, 'btime 1735689600', `processes ${grow(9_000_000, 40)}`);
  out.push('procs_running 3', 'procs_blocked 0', `softirq ${grow(1e9, 5000)} 0 1 2 3 4 5 6 7 8 9`);

  out.push('@@ip:meminfo');
  const kb = (n: number) => `${String(n).padStart(8)} kB`;
  out.push(`MemTotal:       ${kb(528_000_000)}`, `MemFree:        ${kb(120_000_000 - poll * 1000)}`);
  out.push(`MemAvailable:   ${kb(400_000_000)}`, `Buffers:        ${kb(2_000_000)}`, `Cached:         ${kb(250_000_000)}`);
  for (let i = 0; i < 40; i++) out.push(`Field${i}:        ${kb(base(1e6))}`);
  out.push(`SwapTotal:      ${kb(8_388_604)}`, `SwapFree:       ${kb(8_000_000)}`, 'HugePages_Total:       0');

  out.push('@@ip:loadavg', '12.04 11.87 11.02 9/4310 918273');
  out.push('@@ip:procs', '1873');

  out.push('@@ip:netdev');
  out.push('Inter-|   Receive                                                |  Transmit');
  out.push(' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed');
  for (let i = 0; i < interfaces; i++) {
    const name = i === 0 ? 'lo' : i < interfaces / 2 ? `eth${i - 1}` : `veth${(seed * 7919 + i).toString(16)}`;
    const rx = grow(base(1e12), 30 * base(1e7));
    const tx = grow(base(1e12), 30 * base(1e7));
    const f = [rx, grow(base(1e9), 1000), 0, base(10), 0, 0, 0, base(1e5), tx, grow(base(1e9), 900), 0, 0, 0, 0, 0, 0];
    out.push(`${name.padStart(6)}: ${f.join(' ')}`);
  }

  out.push('@@ip:diskstats');
  const letters = (n: number) => (n < 26 ? String.fromCharCode(97 + n) : String.fromCharCode(96 + Math.floor(n / 26)) + String.fromCharCode(97 + (n % 26)));
  for (let i = 0; i < disks; i++) {
    const name = i < disks * 0.7 ? `sd${letters(i)}` : i < disks * 0.85 ? `nvme${i}n1` : `dm-${i}`;
    const f = [
      grow(base(1e9), 3000), base(1e6), grow(base(1e11), 90000), base(1e9), grow(base(1e9), 2000), base(1e6),
      grow(base(1e11), 70000), base(1e9), 0, grow(base(1e9), 9000), base(1e10), 0, 0, 0, 0, grow(base(1e6), 10), base(1e6),
    ];
    out.push(`${String(8 + (i >> 4)).padStart(4)} ${String((i & 15) * 16).padStart(7)} ${name} ${f.join(' ')}`);
  }

  out.push('@@ip:df', 'Filesystem              Type         1-blocks        Used   Available Capacity Mounted on');
  for (let i = 0; i < filesystems; i++) {
    const size = 1e12 + base(1e12);
    const used = Math.floor(size * r() * 0.9);
    const avail = size - used;
    out.push(`/dev/sd${letters(i)}1 ext4 ${size} ${used} ${avail} ${Math.ceil((used / size) * 100)}% /srv/data${i}`);
  }
  out.push('tmpfs tmpfs 1048576 0 1048576 0% /run', '@@ip:end', '');
  return out.join('\n');
}
