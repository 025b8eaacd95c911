import { describe, expect, it } from 'vitest';
import { buildBatchScript, parseBatchScript, renderBatchOutput, splitBatchOutput } from '../../../src/transport/batch.ts';
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
});
