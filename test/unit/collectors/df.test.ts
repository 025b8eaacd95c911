import { describe, expect, it } from 'vitest';
import { parseDf } from '../../../src/collectors/df.ts';
import { ParseError } from '../../../src/collectors/types.ts';
import { caseInput, corpusIt, fixture } from '../../helpers/fixtures.ts';

describe('parseDf', () => {
  corpusIt('reads df -PT with 1024-blocks and a long LVM name that breaks alignment', () => {
    const { filesystems } = parseDf(fixture('misc/df-PT-long-filesystem-jc.txt'));
    expect(filesystems).toHaveLength(3);
    expect(filesystems[0]).toEqual({
      filesystem: '/dev/mapper/VolGroup00-LogVol00',
      fsType: 'ext3',
      mount: '/',
      sizeBytes: 6030784 * 1024,
      usedBytes: 1147932 * 1024,
      availableBytes: 4571556 * 1024,
      usedPercent: (1147932 / (1147932 + 4571556)) * 100,
    });
    // "-" capacity of pseudo filesystems
    expect(filesystems[1]).toMatchObject({ filesystem: 'proc', fsType: 'proc', mount: '/proc', sizeBytes: 0, usedPercent: 0 });
  });

  corpusIt('reads GNU df with 1K-blocks and no Type column', () => {
    const { filesystems } = parseDf(fixture('misc/df-centos7-lvm-jc.txt'));
    expect(filesystems).toHaveLength(7);
    expect(filesystems.find((f) => f.mount === '/')).toMatchObject({
      filesystem: '/dev/mapper/centos-root', fsType: null, sizeBytes: 17811456 * 1024, usedBytes: 1805580 * 1024, availableBytes: 16005876 * 1024,
    });
    expect(filesystems.find((f) => f.mount === '/boot')!.filesystem).toBe('/dev/sda1');
  });

  corpusIt('reads the snap loop mounts at 100 %', () => {
    const { filesystems } = parseDf(fixture('misc/df-ubuntu1804-snap-loops-jc.txt'));
    expect(filesystems).toHaveLength(18);
    expect(filesystems.find((f) => f.mount === '/snap/core18/1223')).toMatchObject({
      filesystem: '/dev/loop0', sizeBytes: 55936 * 1024, availableBytes: 0, usedPercent: 100,
    });
    expect(filesystems.find((f) => f.mount === '/')!.usedBytes).toBe(5748028 * 1024);
  });

  it('reads this machine (df -PTB1)', () => {
    const { filesystems } = parseDf(caseInput('df', 'kvm-PTB1'));
    const root = filesystems.find((f) => f.mount === '/');
    expect(root).toMatchObject({ filesystem: '/dev/vda', fsType: 'ext4', sizeBytes: 270553174016, usedBytes: 24328040448 });
  });

  it('joins a wrapped long filesystem name and keeps spaces in mount points', () => {
    const text = [
      'Filesystem     1K-blocks    Used Available Use% Mounted on',
      '/dev/mapper/a-very-long-volume-group-name-root',
      '                 1000     250       750  25% /',
      '/dev/sdb1           2000     500      1500  25% /media/My Disk',
      '',
    ].join('\n');
    expect(parseDf(text).filesystems).toEqual([
      expect.objectContaining({ filesystem: '/dev/mapper/a-very-long-volume-group-name-root', mount: '/', sizeBytes: 1024000 }),
      expect.objectContaining({ filesystem: '/dev/sdb1', mount: '/media/My Disk', usedBytes: 512000 }),
    ]);
  });

  it('names the line of a bad row and rejects a missing header', () => {
    expect(() => parseDf('Filesystem 1-blocks Used Available Capacity Mounted on\n/dev/x 1 2 three 4% /\n')).toThrow(
      new ParseError('expected "filesystem [type] size used available capacity mount" line', 2),
    );
    expect(() => parseDf('hello world\n')).toThrow(ParseError);
  });
});

describe('parseDf with lines it does not recognise', () => {
  it('skips a row that does not read as numbers and keeps the others', () => {
    const text = `${caseInput('df', 'kvm-PTB1').trimEnd()}\n/dev/vdb ext4 lots 1 2 3% /data\n`;
    const r = parseDf(text);
    expect(r.filesystems.map((f) => f.mount)).toEqual(['/dev', '/dev/shm', '/', '/sys/fs/cgroup']);
    expect(r.skipped).toEqual([{ line: 6, text: '/dev/vdb ext4 lots 1 2 3% /data', reason: 'expected "filesystem [type] size used available capacity mount" line' }]);
  });

  it('reports a wrapped name whose numbers never came', () => {
    const r = parseDf('Filesystem 1K-blocks Used Available Use% Mounted on\n/dev/sda1 1000 250 750 25% /\n/dev/mapper/very-long-name\n');
    expect(r.filesystems).toHaveLength(1);
    expect(r.skipped).toEqual([{ line: 3, text: '/dev/mapper/very-long-name', reason: 'expected the rest of a wrapped df line' }]);
  });
});
