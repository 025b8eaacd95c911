import { describe, expect, it } from 'vitest';
import { batchEnd, buildBatchScript, parseBatchScript, renderBatchOutput, shellProbe, splitBatchOutput, takeShellInput } from '../../../src/transport/batch.ts';
import { CONTAINERS_COMMAND } from '../../../src/collectors/containers.ts';
import { DRIVES_COMMAND } from '../../../src/collectors/drives.ts';
import { SYSTEM_COMMAND } from '../../../src/collectors/system.ts';

const NONCE = 'b2c6a1e4-0000-4000-8000-0123456789ab';

describe('batch format', () => {
  it('parses back exactly the commands it was built from', () => {
    const commands = [SYSTEM_COMMAND, DRIVES_COMMAND, CONTAINERS_COMMAND, 'echo ")"\n)\n__ipb_e 0 $?', ''];
    expect(parseBatchScript(buildBatchScript(NONCE, commands))).toEqual({ nonce: NONCE, commands });
  });

  it('is not fooled by plain commands or an altered script', () => {
    expect(parseBatchScript(SYSTEM_COMMAND)).toBeUndefined();
    const script = buildBatchScript(NONCE, ['echo a', 'echo b']);
    expect(parseBatchScript(script.replace('echo b', 'echo bb'))).toBeUndefined();
    expect(parseBatchScript(`${script}rm -rf /tmp/x\n`)).toBeUndefined();
    expect(() => buildBatchScript('x; reboot', ['true'])).toThrow(RangeError);
  });

  it('the script never contains a marker itself (it is assembled at run time from the nonce)', () => {
    expect(buildBatchScript(NONCE, ['true', 'true'])).not.toContain(`@@ipb:${NONCE}`);
  });

  it('splits rendered output back per section, keeping output without a final newline', () => {
    const results = [
      { stdout: 'a\nno newline', stderr: '', code: 0 },
      { stdout: '', stderr: 'sh: 1: x: not found\n', code: 127 },
      { stdout: `@@ipb:${NONCE.replace('b2', 'ff')}:2\n`, stderr: 'warn\n', code: 2 },
    ];
    expect(splitBatchOutput(NONCE, 3, renderBatchOutput(NONCE, results))).toEqual(results);
  });

  it('a script that never ran gives every section the whole stderr and the exit code; one cut short keeps its output', () => {
    expect(splitBatchOutput(NONCE, 2, { stdout: '', stderr: 'fish: Unsupported use of "||"\n', code: 127 })).toEqual([
      { stdout: '', stderr: 'fish: Unsupported use of "||"\n', code: 127 },
      { stdout: '', stderr: 'fish: Unsupported use of "||"\n', code: 127 },
    ]);
    const cut = { stdout: `@@ipb:${NONCE}:0\nfull\n\n@@ipb:${NONCE}:0:0\n@@ipb:${NONCE}:1\npart`, stderr: '', code: null };
    expect(splitBatchOutput(NONCE, 2, cut)).toEqual([
      { stdout: 'full\n', stderr: '', code: 0 },
      { stdout: 'part', stderr: '', code: null },
    ]);
  });

  it('a one-section batch answered without markers (the peer ran something else) passes the whole exec result through', () => {
    const answered = { stdout: 'Linux fake 6.1.0\n', stderr: 'note\n', code: 3 };
    expect(splitBatchOutput(NONCE, 1, answered)).toEqual([answered]);
    // With a marker present, the section is read as usual.
    expect(splitBatchOutput(NONCE, 1, renderBatchOutput(NONCE, [{ stdout: 'x\n', stderr: '', code: 0 }]))).toEqual([{ stdout: 'x\n', stderr: '', code: 0 }]);
  });

  it('rendered output ends with the end line on both streams, as the script prints it', () => {
    const r = renderBatchOutput(NONCE, [{ stdout: 'x\n', stderr: '', code: 0 }]);
    expect(r.stdout.endsWith(batchEnd(NONCE))).toBe(true);
    expect(r.stderr.endsWith(batchEnd(NONCE))).toBe(true);
  });
});

describe('what a kept shell reads (the simulator\'s side)', () => {
  const script = buildBatchScript(NONCE, ['echo a', 'echo b']);

  it('takes the probe and then a script, each with what follows it', () => {
    const input = shellProbe('p-1') + script + shellProbe('p-2');
    const first = takeShellInput(input);
    expect(first).toEqual({ input: { kind: 'probe', nonce: 'p-1' }, rest: script + shellProbe('p-2') });
    const second = takeShellInput((first as { rest: string }).rest);
    expect(second).toEqual({ input: { kind: 'batch', nonce: NONCE, commands: ['echo a', 'echo b'] }, rest: shellProbe('p-2') });
  });

  it('waits for the rest of anything cut short, at every length', () => {
    for (const whole of [shellProbe('p-1'), script]) {
      for (let n = 0; n < whole.length; n++) expect(takeShellInput(whole.slice(0, n))).toBeUndefined();
      expect(takeShellInput(whole)).not.toBeUndefined();
    }
  });

  it('calls anything else invalid', () => {
    expect(takeShellInput('rm -rf /\n')).toBe('invalid');
    expect(takeShellInput('__ipb_n=x; reboot\n')).toBe('invalid');
    expect(takeShellInput(`__ipb_n=p-1\nreboot; ${shellProbe('p-1')}`)).toBe('invalid');
    expect(takeShellInput(script.replace('echo b', 'echo bb'))).toBe('invalid');
  });
});
