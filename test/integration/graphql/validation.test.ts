/** The input rules every mutation applies (issue #6). */
import { describe, expect, test } from 'vitest';
import { checkInterval } from '../../../src/graphql/types/collectors.ts';
import { checkName, checkPrivateKey, checkTags, checkUsername, isValidHostname, Issues } from '../../../src/graphql/types/validation.ts';
import { generateEd25519Key } from '../../../src/transport/keys.ts';

const issuesOf = (fn: (i: Issues) => void): string[] => {
  const i = new Issues();
  fn(i);
  return i.list.map((x) => x.path.join('.'));
};

describe('hostnames', () => {
  test.each(['web-01', 'web-01.example.com', 'example.com.', 'a', '10.0.0.1', '255.255.255.255', '::1', '2001:db8::1', '[2001:db8::1]', 'fe80::1', 'x'.repeat(63) + '.lan'])('accepts %s', (h) => {
    expect(isValidHostname(h)).toBe(true);
  });
  test.each(['', ' ', 'web 01', 'web;reboot', '$(reboot)', '`id`', 'a|b', 'host&', '-oProxyCommand=x', 'web-.lan', '-web.lan', 'x'.repeat(64) + '.lan', 'a..b', '999.1.1.1', '1.2.3', 'web\n01', 'wéb.lan', '[10.0.0.1]', 'a'.repeat(254), 'host:22', 'user@host'])('rejects %j', (h) => {
    expect(isValidHostname(h)).toBe(false);
  });
});

test('names: 1 to 100 printable characters, trimmed', () => {
  expect(issuesOf((i) => checkName(i, ['n'], 'Büro Rechner 🖥'))).toEqual([]);
  expect(issuesOf((i) => checkName(i, ['n'], '   '))).toEqual(['n']);
  expect(issuesOf((i) => checkName(i, ['n'], 'x'.repeat(101)))).toEqual(['n']);
  expect(issuesOf((i) => checkName(i, ['n'], 'a\u0000b'))).toEqual(['n']);
  expect(issuesOf((i) => checkName(i, ['n'], 'a\u202eb'))).toEqual(['n']); // bidi override
  const i = new Issues();
  expect(checkName(i, ['n'], '  padded  ')).toBe('padded');
});

test('usernames are POSIX-ish', () => {
  for (const ok of ['root', 'monitor', '_svc', 'a.b-c_d', 'host$', 'x'.repeat(32)]) expect(issuesOf((i) => checkUsername(i, ['u'], ok)), ok).toEqual([]);
  for (const bad of ['', '-o', '1abc', 'a b', 'a;b', 'x'.repeat(33), 'ro$ot', 'émile']) expect(issuesOf((i) => checkUsername(i, ['u'], bad)), bad).toEqual(['u']);
});

test('tags: at most 20, each 1 to 50 of [A-Za-z0-9_.:-], duplicates folded', () => {
  expect(issuesOf((i) => checkTags(i, ['t'], ['prod', 'rack:3', 'os.debian-12', 'a_b']))).toEqual([]);
  expect(issuesOf((i) => checkTags(i, ['t'], ['ok', '', 'with space', 'x'.repeat(51)]))).toEqual(['t.1', 't.2', 't.3']);
  expect(issuesOf((i) => checkTags(i, ['t'], Array.from({ length: 21 }, (_, k) => `t${k}`)))).toEqual(['t']);
  expect(checkTags(new Issues(), ['t'], ['a', 'b', 'a'])).toEqual(['a', 'b']);
});

test('intervals: the bounds of the POLLING_*_INTERVAL variables, whole seconds; null means the default', () => {
  for (const ok of [5, 60, 86_400, null, undefined]) expect(issuesOf((i) => checkInterval(i, ['s'], 'system', ok))).toEqual([]);
  for (const bad of [0, 4, 86_401, -5, 7.5]) expect(issuesOf((i) => checkInterval(i, ['s'], 'system', bad))).toEqual(['s']);
  // POLLING_DRIVE_HEALTH_INTERVAL goes up to a week, so may a device's drive interval.
  expect(issuesOf((i) => checkInterval(i, ['s'], 'drives', 7 * 86_400))).toEqual([]);
  expect(issuesOf((i) => checkInterval(i, ['s'], 'drives', 7 * 86_400 + 1))).toEqual(['s']);
});

test('private keys must parse; an encrypted one needs the right passphrase', () => {
  const plain = generateEd25519Key();
  const enc = generateEd25519Key({ passphrase: 'pp', rounds: 4 });
  const check = (key: string, pass?: string) => issuesOf((i) => checkPrivateKey(i, ['k'], key, pass, ['p']));
  expect(check(plain)).toEqual([]);
  expect(check(enc, 'pp')).toEqual([]);
  expect(check(enc)).toEqual(['p']);
  expect(check(enc, 'wrong')).toEqual(['p']);
  expect(check('-----BEGIN OPENSSH PRIVATE KEY-----\ngarbage\n-----END OPENSSH PRIVATE KEY-----')).toEqual(['k']);
  expect(check('')).toEqual(['k']);
});
