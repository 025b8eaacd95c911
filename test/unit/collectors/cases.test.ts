// Golden cases: every kind `infrapulse parse` knows has at least one captured or documented
// input beside the exact JSON it must print (test/fixtures/cases/README.md).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PARSE_KINDS, runParse } from '../../../src/collectors/parse-command.ts';
import { casesDir } from '../../helpers/fixtures.ts';

function folders(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => statSync(`${dir}/${name}`).isDirectory())
    .sort();
}

async function parseCase(kind: string, input: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runParse(kind, input, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  return { code, out, err };
}

describe('golden parser cases (test/fixtures/cases/<kind>/<case>)', () => {
  it('has no folder for a kind that does not exist', () => {
    expect(folders(casesDir).filter((k) => !Object.hasOwn(PARSE_KINDS, k))).toEqual([]);
  });

  for (const kind of Object.keys(PARSE_KINDS)) {
    describe(kind, () => {
      const dir = `${casesDir}${kind}`;
      const cases = folders(dir);

      it('has at least one case', () => {
        expect(cases, `test/fixtures/cases/${kind}/ holds no case`).not.toEqual([]);
      });

      for (const name of cases) {
        it(name, async () => {
          const at = `${dir}/${name}`;
          expect(existsSync(`${at}/input`), `${at}/input`).toBe(true);
          const source = existsSync(`${at}/SOURCE`) ? readFileSync(`${at}/SOURCE`, 'utf8') : '';
          expect(source, `${at}/SOURCE must say how the input was made`).toMatch(/^(captured|written): \S/m);
          const expected = readFileSync(`${at}/expected.json`, 'utf8');
          const r = await parseCase(kind, `${at}/input`);
          expect(r.err).toBe('');
          expect(r.code).toBe(0);
          expect(r.out).toBe(expected);
        });
      }
    });
  }
});
