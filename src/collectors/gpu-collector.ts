// GPU collector: NVIDIA GPUs through `nvidia-smi --query-gpu` (parsed by gpu.ts) in one exec.
import type { GpuSampleRow } from '../storage/types.ts';
import { emptyBatch } from '../storage/types.ts';
import { NVIDIA_SMI_COMMAND, parseNvidiaSmi, type Gpu } from './gpu.ts';
import { SBIN_C } from './storage.ts';
import { firstLine } from './text.ts';
import { CollectorError, ParseError, type CollectContext, type Collector, type CollectResult } from './types.ts';

/** nvidia-smi's exit status follows its output, so a failing driver is told from a bad answer. */
export const GPU_COMMAND = [
  SBIN_C,
  'command -v nvidia-smi >/dev/null 2>&1 || { echo @@ip:no-nvidia-smi; exit 0; }',
  `${NVIDIA_SMI_COMMAND} 2>&1`,
  'echo "@@ip:rc $?"',
].join('\n');

export function gpuRows(gpus: Gpu[], deviceId: string, time: Date): GpuSampleRow[] {
  return gpus.map(({ index, uuid, ...rest }, i) => ({ time, deviceId, gpu: uuid ?? String(index ?? i), gpuIndex: index, ...rest }));
}

export type GpuState = Record<string, never>;

export const gpuCollector: Collector<GpuState> = {
  name: 'gpu',
  description: 'NVIDIA GPUs through nvidia-smi: temperature, utilisation, memory, power, fan.',
  async collect(ctx: CollectContext<GpuState>): Promise<CollectResult<GpuState>> {
    const res = await ctx.runner.exec(GPU_COMMAND, { timeoutMs: ctx.timeoutMs });
    if (res.stdout.includes('@@ip:no-nvidia-smi')) throw new CollectorError('NOT_INSTALLED', 'nvidia-smi not found (no NVIDIA driver)');
    const at = res.stdout.lastIndexOf('@@ip:rc ');
    // No marker and "command not found": not even the shell script ran (a restricted shell, a host that only answers some commands).
    if (at < 0 && res.code === 127) throw new CollectorError('NOT_INSTALLED', `the GPU command did not run: ${firstLine(res.stderr) || 'exit 127'}`);
    const body = at < 0 ? res.stdout : res.stdout.slice(0, at);
    const rc = at < 0 ? Number.NaN : Number(res.stdout.slice(at + 8).trim());
    if (/No devices were found/i.test(body)) throw new CollectorError('NO_DEVICES', 'nvidia-smi found no GPUs');
    if (rc !== 0) {
      // "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver": the tool without its driver.
      const reason = /couldn't communicate with the NVIDIA driver|driver\/library version mismatch/i.test(body) ? 'DAEMON_DOWN' : 'COMMAND_FAILED';
      throw new CollectorError(reason, `nvidia-smi exited ${Number.isNaN(rc) ? '?' : rc}: ${firstLine(body) || firstLine(res.stderr)}`);
    }
    let parsed: ReturnType<typeof parseNvidiaSmi>;
    try {
      parsed = parseNvidiaSmi(body);
    } catch (err) {
      if (!(err instanceof ParseError)) throw err;
      throw new CollectorError('BAD_OUTPUT', `unreadable nvidia-smi output (line ${err.line}: ${err.message})`);
    }
    if (parsed.gpus.length === 0) throw new CollectorError('NO_DEVICES', 'nvidia-smi found no GPUs');
    const batch = emptyBatch();
    batch.gpus = gpuRows(parsed.gpus, ctx.deviceId, ctx.time);
    return { batch, state: {}, problems: [], skipped: parsed.skipped };
  },
};
