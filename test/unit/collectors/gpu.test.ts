import { describe, expect, it } from 'vitest';
import { NVIDIA_SMI_COMMAND, NVIDIA_SMI_FIELDS, parseNvidiaSmi } from '../../../src/collectors/gpu.ts';
import { ParseError } from '../../../src/collectors/types.ts';
import { caseInput, corpusIt, fixture } from '../../helpers/fixtures.ts';

const MiB = 1024 ** 2;

describe('parseNvidiaSmi', () => {
  it('reads the command form (no header, no units): [N/A], [Not Supported] and empty are null, never 0', () => {
    const { gpus, skipped } = parseNvidiaSmi(caseInput('nvidia-smi', 'command-noheader-nounits-written'));
    expect(skipped).toEqual([]);
    expect(gpus[0]).toEqual({
      index: 0, uuid: 'GPU-1f0b7c2e-5a7d-4c3e-9b1a-2d6e8f0a4b11', name: 'NVIDIA GeForce RTX 3090', temperatureC: 67,
      utilizationPercent: 98, memoryUtilizationPercent: 41, memoryUsedBytes: 18321 * MiB, memoryTotalBytes: 24576 * MiB,
      powerDrawWatts: 341.52, powerLimitWatts: 350, fanPercent: 72,
    });
    // a real 0 stays 0; a missing value is null
    expect(gpus[1]).toMatchObject({ index: 1, name: 'Tesla T4', utilizationPercent: 0, memoryUsedBytes: 0, fanPercent: null });
    expect(gpus[2]).toMatchObject({ index: 2, utilizationPercent: null, memoryUtilizationPercent: null, memoryUsedBytes: 4 * MiB, powerLimitWatts: 250, fanPercent: null });
  });

  it('reads csv with a header in any order, units in header and values', () => {
    const { gpus } = parseNvidiaSmi(caseInput('nvidia-smi', 'csv-header-units-reordered-written'));
    expect(gpus.map((g) => [g.index, g.name, g.fanPercent, g.memoryUsedBytes, g.memoryTotalBytes, g.temperatureC, g.powerDrawWatts])).toEqual([
      [0, 'NVIDIA GeForce GTX 1080 Ti', 23, 1210 * MiB, 11264 * MiB, 51, 61.33],
      [1, 'NVIDIA GeForce GTX 1080 Ti', null, 11021 * MiB, 11264 * MiB, 83, null],
    ]);
    // columns not asked for are null, not read from a neighbour
    expect(gpus[0]).toMatchObject({ uuid: null, utilizationPercent: null, powerLimitWatts: null });
  });

  it('skips a row whose column count differs instead of reading it shifted', () => {
    const text = 'index, temperature.gpu, fan.speed [%]\n0, 40, 30 %\n1, 41\n2, 42, 31 %, extra\n3, 43, 32 %\n';
    const r = parseNvidiaSmi(text);
    expect(r.gpus.map((g) => [g.index, g.temperatureC, g.fanPercent])).toEqual([[0, 40, 30], [3, 43, 32]]);
    expect(r.skipped.map((s) => s.line)).toEqual([3, 4]);
  });

  it('reads "No devices were found" as no GPU and a driver failure as unreadable', () => {
    expect(parseNvidiaSmi(caseInput('nvidia-smi', 'no-devices-written'))).toEqual({ gpus: [], skipped: [] });
    expect(() =>
      parseNvidiaSmi("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n"),
    ).toThrow(ParseError);
  });

  it('asks for the fields it reads, in the order it reads them without a header', () => {
    expect(NVIDIA_SMI_COMMAND).toBe(`nvidia-smi --query-gpu=${NVIDIA_SMI_FIELDS.join(',')} --format=csv,noheader,nounits`);
    expect(NVIDIA_SMI_FIELDS[0]).toBe('index');
  });

  corpusIt('reads the H200 under load and the idle RTX 4080 SUPER (all fields, 212 and 202 columns)', () => {
    const h200 = parseNvidiaSmi(fixture('nvidia-smi/query-gpu-all-fields-h200-load-nvgpuexp.csv'));
    expect(h200).toEqual({
      gpus: [{
        index: 0, uuid: 'GPU-00000000-0000-0000-0000-000000000000', name: 'NVIDIA H200', temperatureC: 52, utilizationPercent: 100,
        memoryUtilizationPercent: 7, memoryUsedBytes: 32362 * MiB, memoryTotalBytes: 143771 * MiB, powerDrawWatts: 627.4, powerLimitWatts: 700,
        fanPercent: null,
      }],
      skipped: [],
    });
    const rtx = parseNvidiaSmi(fixture('nvidia-smi/query-gpu-all-fields-rtx4080super-idle-nvgpuexp.csv'));
    expect(rtx.gpus).toEqual([{
      index: 0, uuid: 'GPU-00000000-0000-0000-0000-000000000000', name: 'NVIDIA GeForce RTX 4080 SUPER', temperatureC: 43, utilizationPercent: 0,
      memoryUtilizationPercent: 23, memoryUsedBytes: 596 * MiB, memoryTotalBytes: 16376 * MiB, powerDrawWatts: 26.2, powerLimitWatts: 320, fanPercent: 0,
    }]);
  });

  corpusIt('reads 16 V100s in the nounits form with a header and no trailing newline', () => {
    const { gpus, skipped } = parseNvidiaSmi(fixture('nvidia-smi/query-gpu-csv-nounits-16x-v100-sxm3-slurm-monitor.csv'));
    expect(skipped).toEqual([]);
    expect(gpus).toHaveLength(16);
    expect(gpus.every((g) => g.name === 'Tesla V100-SXM3-32GB' && g.index === null && g.memoryTotalBytes === null && g.fanPercent === null)).toBe(true);
    expect(gpus[0]).toMatchObject({ uuid: 'GPU-ad466f2f-575d-d949-35e0-9a7d912d974e', powerDrawWatts: 48.99, temperatureC: 30, utilizationPercent: 0, memoryUsedBytes: 5 * MiB });
    expect(gpus[1]).toMatchObject({ powerDrawWatts: 383.55, temperatureC: 62, utilizationPercent: 98, memoryUtilizationPercent: 35, memoryUsedBytes: 11149 * MiB });
    expect(gpus[7]).toMatchObject({ uuid: 'GPU-0a4d23ff-bbc5-b048-bcd5-db96716c86a2', powerDrawWatts: 352.89, temperatureC: 66, utilizationPercent: 100, memoryUsedBytes: 19463 * MiB });
    expect(gpus[15]).toMatchObject({ uuid: 'GPU-25ed1520-6fbc-ae62-814d-64ea9098b047', powerDrawWatts: 51.17, temperatureC: 37 });
  });
});
