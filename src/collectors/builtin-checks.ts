/**
 * Built-in checks (issue #18 item 3): templates an ADMIN picks instead of writing a command.
 * Each becomes an ordinary EXIT_CODE check whose command is built here, from constant text and
 * parameters that passed strict patterns (a unit name, an absolute path, a host name and port,
 * whole days), each single-quoted as well; nothing from a device ever reaches it. They run
 * only where the ADMIN scopes them (devices or tags). Pure: no I/O.
 *
 *   FAILED_UNITS     SYSTEMCTL_FAILED_COMMAND (systemd.ts): CRITICAL naming them; value `failed`.
 *   UNIT_ACTIVE      `systemctl is-active <unit>`: active OK; activating, reloading… WARNING;
 *                    inactive or failed CRITICAL; no systemd UNKNOWN.
 *   REBOOT_REQUIRED  /var/run/reboot-required (Debian, Ubuntu) or `needs-restarting -r` (RHEL
 *                    family, exit 1 when a reboot is needed): WARNING.
 *   CERT_EXPIRY      `openssl x509 -enddate` of a file, or of what `openssl s_client` gets from
 *                    host:port (default host localhost): value `days_left`; WARNING below
 *                    warnDays (21), CRITICAL below critDays (7).
 */
import { SYSTEMCTL_FAILED_COMMAND } from './systemd.ts';

export const BUILTIN_CHECKS = ['FAILED_UNITS', 'UNIT_ACTIVE', 'REBOOT_REQUIRED', 'CERT_EXPIRY'] as const;
export type BuiltinCheckKind = (typeof BUILTIN_CHECKS)[number];

/** A template and its parameters, as given and as stored with the check (`checks.builtin`). */
export interface BuiltinCheck {
  kind: BuiltinCheckKind;
  unit?: string | null;
  file?: string | null;
  host?: string | null;
  port?: number | null;
  warnDays?: number | null;
  critDays?: number | null;
}

export const BUILTIN_DEFAULTS = { host: 'localhost', warnDays: 21, critDays: 7, daysMax: 3650 } as const;

/** systemd unit names (systemd.unit(5)): letters, digits and `:-_.\@`, never starting with `-` (an option). */
export const UNIT_NAME = /^[A-Za-z0-9:_.@\\][A-Za-z0-9:_.@\\-]{0,254}$/;
/** An absolute path without spaces, quotes or shell characters. */
export const CERT_FILE = /^\/[A-Za-z0-9._+@/-]{1,1023}$/;
/** A host name or IP literal for s_client or IPv4 (validation.ts's isValidHostname decides; this keeps the characters safe). */
const HOST_CHARS = /^[A-Za-z0-9.-]{1,253}$/;

interface Issue {
  path: string[];
  message: string;
}

const quote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

const NO_SYSTEMD = `command -v systemctl >/dev/null 2>&1 || { echo "UNKNOWN - no systemctl on this host"; exit 3; }`;

function failedUnits(): string {
  return `${NO_SYSTEMD}; out=$(${SYSTEMCTL_FAILED_COMMAND} 2>&1) || { echo "UNKNOWN - systemctl: $(printf '%s' "$out" | head -n 1)"; exit 3; }; n=$(printf '%s\\n' "$out" | grep -c .); if [ "$n" -gt 0 ]; then echo "CRITICAL - $n failed units: $(printf '%s\\n' "$out" | awk '{print $1}' | tr '\\n' ' ')|failed=$n"; exit 2; fi; echo "OK - no failed units|failed=0"`;
}

function unitActive(unit: string): string {
  const u = quote(unit);
  return `${NO_SYSTEMD}; state=$(systemctl is-active -- ${u} 2>&1 | head -n 1); case "$state" in active) echo "OK - "${u}" is active"; exit 0;; activating|reloading|refreshing|deactivating|maintenance) echo "WARNING - "${u}" is $state"; exit 1;; inactive|failed) echo "CRITICAL - "${u}" is $state"; exit 2;; *) echo "UNKNOWN - "${u}": $state"; exit 3;; esac`;
}

function rebootRequired(): string {
  return `if [ -e /var/run/reboot-required ]; then pkgs=$(sort -u /var/run/reboot-required.pkgs 2>/dev/null | tr '\\n' ' '); echo "WARNING - reboot required\${pkgs:+ by $pkgs}"; exit 1; fi; if command -v needs-restarting >/dev/null 2>&1; then out=$(needs-restarting -r 2>&1); if [ $? -eq 1 ]; then echo "WARNING - reboot required: $(printf '%s' "$out" | head -n 1)"; exit 1; fi; fi; echo "OK - no reboot required"`;
}

function certExpiry(b: BuiltinCheck): string {
  const warn = b.warnDays ?? BUILTIN_DEFAULTS.warnDays;
  const crit = b.critDays ?? BUILTIN_DEFAULTS.critDays;
  const what = b.file ? quote(b.file) : quote(`${b.host ?? BUILTIN_DEFAULTS.host}:${b.port}`);
  const read = b.file
    ? `openssl x509 -enddate -noout -in ${what}`
    : `echo | openssl s_client -connect ${what} -servername ${quote(b.host ?? BUILTIN_DEFAULTS.host)} 2>/dev/null | openssl x509 -enddate -noout`;
  return [
    `end=$(${read} 2>&1) || { echo "UNKNOWN - certificate of "${what}" not read: $(printf '%s' "$end" | head -n 1)"; exit 3; }`,
    `end=\${end#notAfter=}; exp=$(date -d "$end" +%s 2>/dev/null) || { echo "UNKNOWN - cannot read the date $end"; exit 3; }`,
    `days=$(( (exp - $(date +%s)) / 86400 )); msg="certificate of "${what}" expires in $days days ($end)|days_left=$days"`,
    `if [ "$days" -lt ${crit} ]; then echo "CRITICAL - $msg"; exit 2; fi; if [ "$days" -lt ${warn} ]; then echo "WARNING - $msg"; exit 1; fi; echo "OK - $msg"`,
  ].join('; ');
}

/** Problems with a template's parameters (paths under `path`); `isHost` is validation.ts's host name rule. */
export function builtinIssues(b: BuiltinCheck, path: string[], isHost: (h: string) => boolean): Issue[] {
  const issues: Issue[] = [];
  const at = (f: string) => [...path, f];
  const only = (fields: (keyof BuiltinCheck)[]) => {
    for (const f of ['unit', 'file', 'host', 'port', 'warnDays', 'critDays'] as const) {
      if (!fields.includes(f) && b[f] !== undefined && b[f] !== null) issues.push({ path: at(f), message: `${b.kind} takes no ${f}` });
    }
  };
  if (b.kind === 'UNIT_ACTIVE') {
    only(['unit']);
    if (!b.unit || !UNIT_NAME.test(b.unit)) issues.push({ path: at('unit'), message: 'must be a systemd unit name such as nginx.service (letters, digits, :-_.\\@; not starting with -)' });
  } else if (b.kind === 'CERT_EXPIRY') {
    only(['file', 'host', 'port', 'warnDays', 'critDays']);
    if (b.file ? b.port != null || b.host != null : b.port == null) issues.push({ path: at('file'), message: 'give either file, or port (and host, default localhost)' });
    if (b.file && !CERT_FILE.test(b.file)) issues.push({ path: at('file'), message: 'must be an absolute path of letters, digits and ._+@/-' });
    if (b.port != null && (!Number.isInteger(b.port) || b.port < 1 || b.port > 65_535)) issues.push({ path: at('port'), message: 'must be a whole number from 1 to 65535' });
    if (b.host != null && (!HOST_CHARS.test(b.host) || !isHost(b.host))) issues.push({ path: at('host'), message: 'must be a host name or an IPv4 address' });
    for (const f of ['warnDays', 'critDays'] as const) {
      const v = b[f];
      if (v != null && (!Number.isInteger(v) || v < 0 || v > BUILTIN_DEFAULTS.daysMax)) issues.push({ path: at(f), message: `must be a whole number from 0 to ${BUILTIN_DEFAULTS.daysMax}` });
    }
    if ((b.critDays ?? BUILTIN_DEFAULTS.critDays) > (b.warnDays ?? BUILTIN_DEFAULTS.warnDays)) issues.push({ path: at('critDays'), message: 'must not be above warnDays' });
  } else only([]);
  return issues;
}

/** The command a valid template runs (builtinIssues first). */
export function builtinCommand(b: BuiltinCheck): string {
  switch (b.kind) {
    case 'FAILED_UNITS':
      return failedUnits();
    case 'UNIT_ACTIVE':
      return unitActive(b.unit!);
    case 'REBOOT_REQUIRED':
      return rebootRequired();
    case 'CERT_EXPIRY':
      return certExpiry(b);
  }
}
