import { describe, expect, it } from 'vitest';
import {
  parseDockerInspect,
  parseDockerPs,
  parseDockerStats,
  parseSize,
  parseStatus,
} from '../../../src/collectors/docker.ts';
import { ParseError } from '../../../src/collectors/types.ts';
import { captured, caseInput, corpusIt, fixture } from '../../helpers/fixtures.ts';

describe('parseSize', () => {
  it('reads decimal and binary units exactly', () => {
    expect(parseSize('648B')).toBe(648);
    expect(parseSize('1.2kB')).toBe(1200);
    expect(parseSize('1.2KB')).toBe(1200);
    expect(parseSize('412KiB')).toBe(412 * 1024);
    expect(parseSize('1.5MiB')).toBe(1572864);
    expect(parseSize('116MB')).toBe(116_000_000);
    expect(parseSize('7.7GiB')).toBe(Math.round(7.7 * 1024 ** 3));
    expect(parseSize('1.025GiB')).toBe(Math.round(1.025 * 1024 ** 3));
    expect(parseSize('2TB')).toBe(2e12);
    expect(parseSize('1TiB')).toBe(1024 ** 4);
    expect(parseSize('--')).toBeNull();
    expect(parseSize('12 parsecs')).toBeNull();
  });
});

describe('parseStatus', () => {
  it('derives state, health and exit code from the Status string', () => {
    expect(parseStatus('Up 2 hours (healthy)')).toEqual({ state: 'running', health: 'healthy', exitCode: null, restarting: false });
    expect(parseStatus('Up 3 seconds (health: starting)').health).toBe('starting');
    expect(parseStatus('Up 5 minutes (unhealthy)').health).toBe('unhealthy');
    expect(parseStatus('Up 5 minutes (Paused)').state).toBe('paused');
    expect(parseStatus('Exited (1) 6 days ago')).toEqual({ state: 'exited', health: null, exitCode: 1, restarting: false });
    expect(parseStatus('Restarting (1) 5 seconds ago')).toEqual({ state: 'restarting', health: null, exitCode: 1, restarting: true });
    expect(parseStatus('Created').state).toBe('created');
    expect(parseStatus('Dead').state).toBe('dead');
    expect(parseStatus('Removal In Progress').state).toBe('removing');
  });
});

describe('parseDockerPs', () => {
  it('reads CLI JSON lines', () => {
    const { containers } = parseDockerPs(caseInput('docker-ps', 'cli-json-lines'));
    expect(containers).toHaveLength(5);
    expect(containers[0]).toEqual({
      id: '3f4e8a1c9b2d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f',
      name: 'web-proxy-1',
      image: 'nginx:1.25',
      state: 'running',
      status: 'Up 2 hours (healthy)',
      health: 'healthy',
      exitCode: null,
      createdAt: new Date('2024-05-02T07:14:07Z'),
      startedAt: null,
      restartCount: null,
    });
    expect(containers[2]).toMatchObject({ name: 'worker', state: 'exited', exitCode: 137 });
    expect(containers[3]).toMatchObject({ name: 'flaky', state: 'restarting', exitCode: 1 });
  });

  corpusIt('reads the Engine API containers list (Names with "/", unix Created)', () => {
    const { containers } = parseDockerPs(fixture('docker/api-containers-list-watchtower.json'));
    expect(containers.map((c) => [c.name, c.state, c.exitCode])).toEqual([
      ['watchtower-stopped', 'exited', 1],
      ['watchtower-running', 'running', null],
      ['portainer', 'running', null],
      ['portainer', 'restarting', 0],
    ]);
    expect(containers[0]).toMatchObject({
      id: 'ae8964ba86c7cd7522cf84e09781343d88e0e3543281c747d88b27e246578b65',
      image: 'containrrr/watchtower:latest',
      status: 'Exited (1) 6 days ago',
      createdAt: new Date(1554925882 * 1000),
    });
  });

  it('accepts podman-style keys (Id, Names array, Restarts, StartedAt)', () => {
    const line = JSON.stringify({ Id: 'abc123abc123', Names: ['pod-web'], Image: 'nginx', State: 'running', Status: 'Up 1 minute', Restarts: 3, StartedAt: 1714640000, Created: 1714630000, ExitCode: 0 });
    expect(parseDockerPs(line).containers[0]).toMatchObject({ id: 'abc123abc123', name: 'pod-web', restartCount: 3, startedAt: new Date(1714640000 * 1000) });
  });

  it('skips non-JSON lines with their number; rejects output with no JSON line at all', () => {
    const r = parseDockerPs('{"ID":"a","Names":"b"}\nCONTAINER ID   IMAGE\n');
    expect(r.containers.map((c) => c.id)).toEqual(['a']);
    expect(r.skipped).toEqual([
      { line: 2, text: 'CONTAINER ID   IMAGE', reason: `expected docker ps --format '{{json .}}' output: one JSON object per line` },
    ]);
    expect(() => parseDockerPs('CONTAINER ID   IMAGE\n')).toThrow(
      new ParseError(`expected docker ps --format '{{json .}}' output: one JSON object per line`, 1),
    );
  });

  it('skips a JSON line that is not a container and a CLI warning (our case)', () => {
    const r = parseDockerPs(caseInput('docker-ps', 'cli-warning-line-written'));
    expect(r.containers.map((c) => c.name)).toEqual(['web-proxy-1', 'db']);
    expect(r.skipped.map((s) => s.line)).toEqual([1]);
    expect(r.skipped[0]!.text).toMatch(/^WARNING: Error loading config file/);
    const odd = parseDockerPs('{"ID":"a","Names":"b"}\n{"Warning":"x"}\n');
    expect(odd.skipped).toEqual([{ line: 2, text: '{"Warning":"x"}', reason: 'expected a container object with ID and Names' }]);
  });
});

describe('parseDockerStats', () => {
  it('reads CLI JSON lines', () => {
    const { containers } = parseDockerStats(caseInput('docker-stats', 'cli-json-lines'));
    expect(containers[0]).toEqual({
      id: '3f4e8a1c9b2d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f',
      name: 'web-proxy-1',
      cpuPercent: 0.25,
      memUsageBytes: 1572864,
      memLimitBytes: Math.round(7.7 * 1024 ** 3),
      memPercent: 0.19,
      netRxBytes: 1200,
      netTxBytes: 648,
      blockReadBytes: 12_300_000,
      blockWriteBytes: 4100,
      pids: 5,
    });
    expect(containers[1]).toMatchObject({ cpuPercent: 101.5, netTxBytes: 2.1e9 });
  });

  corpusIt('reads the old table format', () => {
    const { containers } = parseDockerStats(fixture('docker/stats-no-stream-table-genieparser.txt'));
    expect(containers).toHaveLength(4);
    expect(containers[0]).toEqual({
      id: 'a3f78cb32a8e', name: 'foo-bar', cpuPercent: 0.06, memUsageBytes: Math.round(55.69 * 1024 ** 2),
      memLimitBytes: Math.round(1.025 * 1024 ** 3), memPercent: 5.31, netRxBytes: 31100, netTxBytes: 0,
      blockReadBytes: 0, blockWriteBytes: 0, pids: 1,
    });
    expect(containers[3]).toMatchObject({ name: 'looking_good', netRxBytes: 1.16e9, netTxBytes: 837e6, pids: 2 });
  });

  corpusIt('reads Engine API one-shot stats like the CLI computes them', () => {
    const v1 = parseDockerStats(fixture('docker/api-stats-oneshot-cgroupv1-otel.json')).containers[0]!;
    expect(v1).toMatchObject({
      id: '10b703fb312b25e8368ab5a3bce3a1610d1cee5d71a94920f1a7adbc5b0cb326', name: 'bold_sinoussi',
      cpuPercent: null, // no precpu sample
      memUsageBytes: 2887680 - 2162688, memLimitBytes: 10449559552, netRxBytes: 1532, netTxBytes: 0,
      blockReadBytes: 2502656, blockWriteBytes: 0, pids: 1,
    });
    const v2 = parseDockerStats(fixture('docker/api-stats-oneshot-cgroupv2-otel.json')).containers[0]!;
    expect(v2).toMatchObject({ name: 'compassionate_mcnulty', memUsageBytes: 234647552, memLimitBytes: 268435456, netRxBytes: 1296, blockReadBytes: 167936, pids: 1 });
  });

  it('skips a table row with the wrong number of columns and a stats line without an ID', () => {
    const table = [
      'CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O         BLOCK I/O   PIDS',
      'a3f78cb32a8e   foo-bar   0.06%     55.69MiB / 1GiB     5.31%     31.1kB / 0B     0B / 0B     1',
      'garbage',
    ].join('\n');
    const t = parseDockerStats(table);
    expect(t.containers.map((c) => c.id)).toEqual(['a3f78cb32a8e']);
    expect(t.skipped).toEqual([{ line: 3, text: 'garbage', reason: 'expected a docker stats table row with 8 columns' }]);
    const json = parseDockerStats(`${caseInput('docker-stats', 'cli-json-lines').trimEnd()}\n{"CPUPerc":"1%"}\n`);
    expect(json.skipped.map((s) => s.reason)).toEqual(['expected a stats object with an ID']);
  });
});

describe('parseDockerInspect', () => {
  it('reads our compact lines', () => {
    const { containers } = parseDockerInspect(captured('docker-inspect-compact.txt'));
    expect(containers[1]).toEqual({
      id: '9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f3f4e8a1c9b2d7e6f5a4b3c2d1e0f', restartCount: 2,
      startedAt: new Date('2024-05-02T09:14:05Z'), finishedAt: new Date('2024-05-02T09:14:01Z'),
      exitCode: 0, state: 'running', health: 'starting',
    });
    expect(containers[3]).toMatchObject({ restartCount: 14, state: 'restarting', exitCode: 1 });
  });

  corpusIt('reads full inspect objects from the Engine API', () => {
    expect(parseDockerInspect(fixture('docker/inspect-exited-watchtower.json')).containers[0]).toEqual({
      id: 'ae8964ba86c7cd7522cf84e09781343d88e0e3543281c747d88b27e246578b65', restartCount: 0,
      startedAt: new Date('2019-04-10T19:51:22.918Z'), finishedAt: new Date('2019-04-10T19:52:14.265Z'),
      exitCode: 1, state: 'exited', health: null,
    });
    expect(parseDockerInspect(fixture('docker/inspect-running-gluetun-compose-watchtower.json')).containers[0]).toMatchObject({
      id: '25e75393800b5c450a6841212a3b92ed28fa35414a586dec9f2c8a520d4910c2', state: 'running', health: 'healthy', finishedAt: null,
    });
    expect(parseDockerInspect(fixture('docker/inspect-running-portainer-watchtower.json')).containers[0]).toMatchObject({
      id: 'b978af0b858aa8855cce46b628817d4ed58e58f2c4f66c9b9c5449134ed4c008', state: 'running', startedAt: new Date('2019-04-13T22:38:24.498Z'),
    });
  });
});
