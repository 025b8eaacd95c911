// Built-in checks: every template writes a command that parses as sh, with its parameters quoted; the patterns refuse what a shell would read.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BUILTIN_CHECKS, builtinCommand, builtinIssues, CERT_FILE, UNIT_NAME, type BuiltinCheck } from '../../../src/collectors/builtin-checks.ts';

const isHost = (h: string) => /^[a-z0-9.-]+$/i.test(h);

const SAMPLES: Record<(typeof BUILTIN_CHECKS)[number], BuiltinCheck[]> = {
  FAILED_UNITS: [{ kind: 'FAILED_UNITS' }],
  UNIT_ACTIVE: [{ kind: 'UNIT_ACTIVE', unit: 'getty@tty1.service' }, { kind: 'UNIT_ACTIVE', unit: 'systemd-fsck@dev-disk-by\\x2duuid-1.service' }],
  REBOOT_REQUIRED: [{ kind: 'REBOOT_REQUIRED' }],
  CERT_EXPIRY: [{ kind: 'CERT_EXPIRY', file: '/etc/ssl/certs/web+1@x.pem' }, { kind: 'CERT_EXPIRY', port: 8443 }, { kind: 'CERT_EXPIRY', host: 'www.example.com', port: 443, warnDays: 30, critDays: 0 }],
};

describe('built-in check commands', () => {
  for (const kind of BUILTIN_CHECKS) {
    it(`${kind}: valid parameters, a command that parses as sh`, () => {
      for (const b of SAMPLES[kind]) {
        expect(builtinIssues(b, ['builtin'], isHost)).toEqual([]);
        const command = builtinCommand(b);
        expect(() => execFileSync('/bin/sh', ['-n', '-c', command])).not.toThrow();
        for (const p of [b.unit, b.file]) if (p) expect(command).toContain(`'${p}'`);
      }
    });
  }

  it('unit names and paths a shell would read are refused', () => {
    for (const bad of ['', '-H', '--root=/', 'a b', 'a;b', "a'b", 'a$(id)', 'a`id`', 'a|b', 'x'.repeat(300)]) expect(UNIT_NAME.test(bad), bad).toBe(false);
    for (const bad of ['etc/x.pem', '/a b', "/a'b", '/a;b', '/$(id)', '/a\nb']) expect(CERT_FILE.test(bad), bad).toBe(false);
    expect(builtinIssues({ kind: 'CERT_EXPIRY' }, ['b'], isHost).map((i) => i.path.join('.'))).toEqual(['b.file']);
    expect(builtinIssues({ kind: 'CERT_EXPIRY', port: 443, warnDays: 4000 }, ['b'], isHost).map((i) => i.path.join('.'))).toEqual(['b.warnDays']);
  });
});
