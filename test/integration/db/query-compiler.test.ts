/**
 * Issue #16 item 5 (the idle server's fixed cost): Prisma's query compiler is compiled from
 * the bytes of its WebAssembly, read as text from the module the generated client would
 * import (src/db/client.ts). Imported, that module's 2.6 MB base64 literal stays on the heap
 * twice (the module's source and the string) for the life of the process.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { readCompilerWasm } from '../../../src/db/client.ts';
import { createTestDatabase } from '../../helpers/db.ts';
import { modulesLoadedBy } from '../../helpers/loaded-modules.ts';

const BASE64_MODULE = '@prisma/client/runtime/query_compiler_bg.postgresql.wasm-base64.mjs';

describe('the query compiler from its file', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'infrapulse-wasm-'));
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the bytes read from the file are the ones the module exports', async () => {
    const { wasm } = (await import(BASE64_MODULE)) as { wasm: string };
    const bytes = readCompilerWasm();
    expect(bytes).toBeDefined();
    expect(Buffer.compare(bytes!, Buffer.from(wasm, 'base64'))).toBe(0);
  });

  test('a file of another shape, or a literal that is not WebAssembly, reads as nothing (the client then imports the module)', () => {
    const other = path.join(dir, 'other.mjs');
    fs.writeFileSync(other, 'export const wasm = "AGFzbQEAAAA=";\n');
    expect(readCompilerWasm(other)).toBeUndefined();
    const notWasm = path.join(dir, 'not-wasm.mjs');
    fs.writeFileSync(notWasm, `const wasm = "${Buffer.from('not a wasm module').toString('base64')}";\nexport { wasm }\n`);
    expect(readCompilerWasm(notWasm)).toBeUndefined();
    const valid = path.join(dir, 'valid.mjs');
    fs.writeFileSync(valid, 'const wasm = "AGFzbQEAAAA=";\nexport { wasm }\n'); // the empty module: magic and version
    expect(readCompilerWasm(valid)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  });

  test('a client that has answered queries never loaded the module holding the base64 literal', () => {
    const script = `
      import { createPool, closePool } from './src/db/adapter.ts';
      import { createPrismaClient } from './src/db/index.ts';
      const pool = createPool(process.env.PROBE_DATABASE_URL, { max: 2 });
      const prisma = createPrismaClient(pool);
      if (typeof (await prisma.device.count()) !== 'number') throw new Error('no count');
      await prisma.$disconnect();
      await closePool(pool);`;
    const urls = modulesLoadedBy(script, { ...process.env, PROBE_DATABASE_URL: db.url });
    // The compiler ran: its JavaScript glue was loaded.
    expect(urls.some((u) => u.endsWith('/query_compiler_bg.postgresql.mjs'))).toBe(true);
    expect(urls.filter((u) => u.includes('wasm-base64'))).toEqual([]);
  }, 90_000);
});
