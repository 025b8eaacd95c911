/**
 * Input rules shared by every mutation (issue #6): each rule returns issues with the field's
 * path instead of throwing, so one response lists every problem and nothing is written.
 * Strings that reach a shell or ssh (hostnames, usernames) are allow-listed, never escaped.
 */
import net from 'node:net';
import ssh2 from 'ssh2';
import { FINGERPRINT_RE } from '../../transport/host-key.ts';
import type { FieldIssue } from './errors.ts';

export const LIMITS = {
  nameMax: 100,
  tagsMax: 20,
  tagMax: 50,
  secretMax: 64 * 1024,
} as const;

/** Collects issues; `ok` is true when none was added. */
export class Issues {
  readonly list: FieldIssue[] = [];
  add(path: string[], message: string): void {
    this.list.push({ path, message });
  }
  get ok(): boolean {
    return this.list.length === 0;
  }
}

// Control, format, line/paragraph separators and unpaired surrogates are not "printable text".
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

export function checkName(issues: Issues, path: string[], value: string): string {
  const name = value.trim();
  if (name.length < 1 || name.length > LIMITS.nameMax) issues.add(path, `must be 1 to ${LIMITS.nameMax} characters`);
  else if (UNPRINTABLE.test(name)) issues.add(path, 'must be printable text (no control characters)');
  return name;
}

const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** RFC 1123 host names, IPv4 and IPv6 literals (brackets allowed); nothing else reaches ssh. */
export function isValidHostname(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  const unbracketed = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  if (net.isIPv6(unbracketed)) return true;
  if (unbracketed !== value) return false;
  if (net.isIPv4(value)) return true;
  const labels = (value.endsWith('.') ? value.slice(0, -1) : value).split('.');
  // An all-numeric dotted name that is not a valid IPv4 address (999.1.1.1) is a typo, not a host.
  if (labels.every((l) => /^\d+$/.test(l))) return false;
  return labels.every((l) => LABEL.test(l));
}

export function checkHostname(issues: Issues, path: string[], value: string): string {
  const host = value.trim();
  if (!isValidHostname(host)) issues.add(path, 'must be a host name (RFC 1123), an IPv4 or an IPv6 address');
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

export function checkPort(issues: Issues, path: string[], value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > 65_535) issues.add(path, 'must be a whole number from 1 to 65535');
}

/** POSIX portable user names (plus the $ of machine accounts), at most 32 characters. */
const USERNAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,30}[A-Za-z0-9_.$-]?$/;

export function checkUsername(issues: Issues, path: string[], value: string): void {
  if (!USERNAME.test(value)) issues.add(path, 'must be a user name: letters, digits, _ . - (not first), at most 32 characters');
}

const TAG = /^[A-Za-z0-9_.:-]{1,50}$/;

export function checkTags(issues: Issues, path: string[], tags: readonly string[]): string[] {
  if (tags.length > LIMITS.tagsMax) issues.add(path, `at most ${LIMITS.tagsMax} tags`);
  tags.forEach((tag, i) => {
    if (!TAG.test(tag)) issues.add([...path, String(i)], `must be 1 to ${LIMITS.tagMax} characters of A-Z a-z 0-9 _ . : -`);
  });
  return [...new Set(tags)];
}

/** OpenSSH's SHA-256 fingerprint format, as the poller pins it. */

export function checkFingerprint(issues: Issues, path: string[], value: string): void {
  if (!FINGERPRINT_RE.test(value)) issues.add(path, 'must be an SSH SHA-256 fingerprint: SHA256: followed by 43 base64 characters (as ssh-keygen -lf prints it)');
}

/** The key must parse (with its passphrase when encrypted); the message never quotes the key. */
export function checkPrivateKey(issues: Issues, path: string[], key: string, passphrase: string | null | undefined, passphrasePath: string[]): void {
  if (key.length > LIMITS.secretMax) {
    issues.add(path, `must be at most ${LIMITS.secretMax} bytes`);
    return;
  }
  let parsed: ReturnType<typeof ssh2.utils.parseKey>;
  try {
    parsed = ssh2.utils.parseKey(key, passphrase ?? undefined);
  } catch {
    parsed = new Error('unreadable');
  }
  if (parsed instanceof Error) {
    const encrypted = /encrypted/i.test(parsed.message);
    if (encrypted && !passphrase) issues.add(passphrasePath, 'the private key is encrypted: give its passphrase');
    else if (encrypted || /passphrase|decrypt/i.test(parsed.message)) issues.add(passphrasePath, 'the passphrase does not decrypt the private key');
    else issues.add(path, 'must be a private key in OpenSSH or PEM format');
  }
}

export function checkSecret(issues: Issues, path: string[], value: string): void {
  if (value.length < 1 || value.length > LIMITS.secretMax) issues.add(path, `must be 1 to ${LIMITS.secretMax} characters`);
}
