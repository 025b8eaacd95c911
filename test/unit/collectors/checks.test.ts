// What one run of a check means (src/collectors/checks.ts). Plugin output examples follow the
// Monitoring Plugins development guidelines (monitoring-plugins.org/doc/guidelines.html, "Plugin
// Output" and "Performance data"); the exposition follows the Prometheus text format's own
// example (prometheus.io/docs/instrumenting/exposition_formats); both written from those documents.
import { describe, expect, it } from 'vitest';
import { CHECK_MAX_VALUES, evaluateCheck, parseJsonPath, parseJsonValues, parsePerfdata, parsePluginOutput, parsePrometheus, seriesKey, statusOfExitCode } from '../../../src/collectors/checks.ts';
import { rng } from '../../../src/random.ts';
import { captured } from '../../helpers/fixtures.ts';

const exitCode = { kind: 'EXIT_CODE', jsonPaths: [] } as const;

describe('EXIT_CODE: the Monitoring-Plugins convention', () => {
  it('maps 0, 1, 2 to OK, WARNING, CRITICAL and 3, 127, a signal to UNKNOWN', () => {
    expect([0, 1, 2, 3, 4, 127, 255, null].map(statusOfExitCode)).toEqual(['OK', 'WARNING', 'CRITICAL', 'UNKNOWN', 'UNKNOWN', 'UNKNOWN', 'UNKNOWN', 'UNKNOWN']);
  });

  it('takes the first line as the message and its perfdata as values', () => {
    const r = evaluateCheck(exitCode, { stdout: 'DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n', stderr: '', code: 0 });
    expect(r).toEqual({ status: 'OK', message: 'DISK OK - free space: / 3326 MB (56%);', values: { '/': 2643 } });
  });

  it('reads multi-line perfdata: first line, then the long text\'s `|` and every line after it', () => {
    const out = [
      'DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968',
      '/ 15272 MB (77%);',
      '/boot 68 MB (69%);',
      '/home 69357 MB (27%);',
      '/var/log 819 MB (84%); | /boot=68MB;88;93;0;98',
      '/home=69357MB;253404;253409;0;253414',
      "/var/log=818MB;970;975;0;980 'in use'=42%;80;90",
    ].join('\n');
    expect(parsePluginOutput(out)).toEqual({
      message: 'DISK OK - free space: / 3326 MB (56%);',
      values: { '/': 2643, '/boot': 68, '/home': 69357, '/var/log': 818, 'in use': 42 },
    });
  });

  it('handles quoted labels (spaces, = and doubled quotes), units, empty thresholds and U', () => {
    expect(parsePerfdata("'a b'=1s;;;0 'it''s=x'=2.5e3KB time=0.012s;1;2 load1=U;1;2 c=10c bad =5 x=abc 'open")).toEqual({ 'a b': 1, "it's=x": 2500, time: 0.012, c: 10 });
    expect(parsePerfdata('neg=-1.5 plus=+3 frac=.5%')).toEqual({ neg: -1.5, plus: 3, frac: 0.5 });
  });

  it('says what exit code it got when the plugin printed nothing, and uses stderr for a shell error', () => {
    expect(evaluateCheck(exitCode, { stdout: '', stderr: '', code: 2 })).toEqual({ status: 'CRITICAL', message: 'exit code 2', values: {} });
    expect(evaluateCheck(exitCode, { stdout: '', stderr: 'sh: 1: check_nothing: not found\n', code: 127 })).toEqual({ status: 'UNKNOWN', message: 'sh: 1: check_nothing: not found', values: {} });
  });
});

const EXPOSITION = `# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9
metric_without_timestamp_and_labels 12.47
something_weird{problem="division by zero"} +Inf -3982045

# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
`;

describe('real plugins (monitoring-plugins-basic 2.3.3, captured: test/fixtures/captured/README.md)', () => {
  it('check_disk: bytes with a unit, five fields, no space before |', () => {
    expect(evaluateCheck(exitCode, { stdout: captured('check-plugin-check_disk.txt'), stderr: '', code: 0 })).toEqual({ status: 'OK', message: 'DISK OK - free space: / 77894MiB (74% inode=96%);', values: { '/': 27266121728 } });
  });

  it('check_load: empty thresholds and a trailing space; check_file_age: the 26-hour backup check gone CRITICAL', () => {
    expect(evaluateCheck(exitCode, { stdout: captured('check-plugin-check_load.txt'), stderr: '', code: 1 })).toEqual({
      status: 'WARNING',
      message: 'LOAD WARNING - scaled load average: 3.78, 3.61, 3.19 - total load average: 7.56, 7.22, 6.39',
      values: { load1: 7.56, scaled_load1: 3.78, load5: 7.22, scaled_load5: 3.61, load15: 6.39, scaled_load15: 3.195 },
    });
    expect(evaluateCheck(exitCode, { stdout: captured('check-plugin-check_file_age.txt'), stderr: '', code: 2 })).toEqual({
      status: 'CRITICAL',
      message: 'FILE_AGE CRITICAL: /tmp/ip-last-success is 108000 seconds old and 0 bytes',
      values: { age: 108000, size: 0 },
    });
  });

  it('prom-client\'s exposition (what /metrics serves): every sample, labelled series included', () => {
    const text = captured('check-prometheus-prom-client.txt');
    const values = parsePrometheus(text);
    const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(Object.keys(values)).toHaveLength(samples.length);
    expect(values).toMatchObject({ process_max_fds: expect.any(Number), 'nodejs_version_info{major="20",minor="20",patch="2",version="v20.20.2"}': 1 });
  });
});

describe('PROMETHEUS: text exposition', () => {
  it('keys values by name and sorted labels, escapes label values, leaves out ±Inf, expands histograms and summaries', () => {
    expect(parsePrometheus(EXPOSITION)).toEqual({
      'http_requests_total{code="200",method="post"}': 1027,
      'http_requests_total{code="400",method="post"}': 3,
      'msdos_file_access_time_seconds{error="Cannot find file:\\n\\"FILE.TXT\\"",path="C:\\\\DIR\\\\FILE.TXT"}': 1.458255915e9,
      metric_without_timestamp_and_labels: 12.47,
      'http_request_duration_seconds_bucket{le="0.05"}': 24054,
      'http_request_duration_seconds_bucket{le="+Inf"}': 144320,
      http_request_duration_seconds_sum: 53423,
      http_request_duration_seconds_count: 144320,
      'rpc_duration_seconds{quantile="0.5"}': 4773,
      rpc_duration_seconds_sum: 1.7560473e7,
      rpc_duration_seconds_count: 2693,
    });
    expect(seriesKey('up')).toBe('up');
  });

  it('a node_exporter textfile gives OK with a count; text that is no exposition is UNKNOWN', () => {
    const prom = { kind: 'PROMETHEUS', jsonPaths: [] } as const;
    expect(evaluateCheck(prom, { stdout: 'backup_last_success_timestamp_seconds 1764600000\n', stderr: '', code: 0 })).toEqual({ status: 'OK', message: '1 values', values: { backup_last_success_timestamp_seconds: 1764600000 } });
    for (const stdout of ['this is not {prometheus\n', 'garbage line here{\n', 'a 1\nb{x 2\n']) expect(evaluateCheck(prom, { stdout, stderr: '', code: 0 })).toMatchObject({ status: 'UNKNOWN', message: expect.stringContaining('not Prometheus text exposition') });
    expect(evaluateCheck(prom, { stdout: '', stderr: 'cat: /x.prom: No such file or directory\n', code: 1 })).toMatchObject({ status: 'WARNING', message: 'cat: /x.prom: No such file or directory' });
  });
});

describe('JSON: values by path', () => {
  const doc = JSON.stringify({ backup: { age_seconds: 3600, ok: true, size: '12.5' }, disks: [{ temp: 41 }, { temp: 45 }], name: 'x', 'a.b': 7 });

  it('picks numbers (booleans as 1/0, numeric strings) at dotted and indexed paths, quoted keys too', () => {
    expect(parseJsonPath('disks[1].temp')).toEqual(['disks', 1, 'temp']);
    expect(parseJsonPath('["a.b"]')).toEqual(['a.b']);
    expect(parseJsonPath('a..b')).toBeNull();
    expect(parseJsonValues(doc, ['backup.age_seconds', 'backup.ok', 'backup.size', 'disks[1].temp', '["a.b"]'])).toEqual({
      values: { 'backup.age_seconds': 3600, 'backup.ok': 1, 'backup.size': 12.5, 'disks[1].temp': 45, '["a.b"]': 7 },
      missing: [],
    });
  });

  it('without paths, every number; a missing path or a non-number makes the run UNKNOWN', () => {
    expect(parseJsonValues(doc, []).values).toEqual({ 'backup.age_seconds': 3600, 'backup.ok': 1, 'disks[0].temp': 41, 'disks[1].temp': 45, 'a.b': 7 });
    const json = (jsonPaths: string[]) => ({ kind: 'JSON', jsonPaths }) as const;
    expect(evaluateCheck(json(['backup.age_seconds']), { stdout: doc, stderr: '', code: 0 })).toEqual({ status: 'OK', message: '1 values', values: { 'backup.age_seconds': 3600 } });
    expect(evaluateCheck(json(['nope', 'name']), { stdout: doc, stderr: '', code: 0 })).toEqual({ status: 'UNKNOWN', message: 'no number at nope, name', values: {} });
    expect(evaluateCheck(json([]), { stdout: '{"a":', stderr: '', code: 0 })).toMatchObject({ status: 'UNKNOWN', message: expect.stringContaining('not JSON') });
    expect(evaluateCheck(json([]), { stdout: '{"a": 1}', stderr: 'late\n', code: 2 })).toEqual({ status: 'CRITICAL', message: 'late', values: { a: 1 } });
  });

  it('keeps at most CHECK_MAX_VALUES values', () => {
    const big = JSON.stringify(Array.from({ length: CHECK_MAX_VALUES + 50 }, (_, i) => i));
    expect(Object.keys(parseJsonValues(big, []).values)).toHaveLength(CHECK_MAX_VALUES);
  });
});

describe('fuzz: no output makes evaluateCheck throw, and the result is always well formed', () => {
  const SEEDS = ['DISK OK | /=2643MB;5948;5958;0;5968\nlong | a=1\nb=2', EXPOSITION, '{"a":{"b":[1,2,{"c":3}]}}'];
  const ALPHABET = " \t\n|;='\"{}[],.:#0123456789eE+-abcU%";
  const r = rng(18);
  const inputs: string[] = [];
  for (const seed of SEEDS) {
    for (let i = 0; i < 300; i++) {
      const chars = seed.split('');
      for (let k = 0; k < 1 + r() * 6; k++) chars[Math.floor(r() * chars.length)] = ALPHABET[Math.floor(r() * ALPHABET.length)]!;
      inputs.push(i % 3 === 0 ? seed.slice(0, Math.floor(r() * seed.length)) : chars.join(''));
    }
  }
  for (let i = 0; i < 100; i++) inputs.push(Array.from({ length: Math.floor(r() * 300) }, () => String.fromCharCode(Math.floor(r() * 65536))).join(''));

  it(`${inputs.length} mutated outputs for each kind`, () => {
    for (const stdout of inputs) {
      for (const spec of [exitCode, { kind: 'PROMETHEUS', jsonPaths: [] }, { kind: 'JSON', jsonPaths: ['a.b[2].c', 'x'] }] as const) {
        const res = evaluateCheck(spec, { stdout, stderr: '', code: Math.floor(r() * 4) });
        expect(['OK', 'WARNING', 'CRITICAL', 'UNKNOWN']).toContain(res.status);
        expect(typeof res.message).toBe('string');
        for (const v of Object.values(res.values)) expect(Number.isFinite(v)).toBe(true);
      }
    }
  });
});
