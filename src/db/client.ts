/**
 * The Prisma client on a pg pool, with its query compiler's WebAssembly read from the file it
 * ships in rather than imported.
 *
 * The generated client gets the compiler by importing
 * `@prisma/client/runtime/query_compiler_bg.postgresql.wasm-base64.mjs`, a module whose one
 * export is the 2.6 MB wasm as a base64 string literal. A loaded ES module is never unloaded,
 * and V8 keeps both its source text (for lazy compilation) and the literal: 5 MB of heap for
 * the life of the process, marked by every full collection, in an idle server of about 100 MB.
 * Read as text and decoded here, the same bytes are garbage once compiled. Where the file does
 * not have the shape this expects (another Prisma version), the client loads it its own way.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { GetPrismaClientConfig as ClientConfig, PrismaClientOptions as RuntimeOptions } from '@prisma/client/runtime/client';
import type pg from 'pg';
import { PrismaClient } from './generated/client.ts';
import { createAdapter } from './adapter.ts';

/** The generated client's options type leaves out `__internal`, which its runtime reads. */
type ClientOptions = NonNullable<ConstructorParameters<typeof PrismaClient>[0]>;

const WASM_MODULE = '@prisma/client/runtime/query_compiler_bg.postgresql.wasm-base64.mjs';
/** The module's whole shape: `const wasm = "<base64>";` and an export of it. */
const LITERAL = /^const wasm = "([A-Za-z0-9+/=]+)";\s*export \{ wasm \}\s*$/;

/** The compiler's wasm bytes from `file` (by default the module the client would import); undefined when its shape is not the expected one. */
export function readCompilerWasm(file = createRequire(import.meta.url).resolve(WASM_MODULE)): Buffer | undefined {
  const base64 = LITERAL.exec(fs.readFileSync(file, 'latin1'))?.[1];
  const bytes = base64 === undefined ? undefined : Buffer.from(base64, 'base64');
  return bytes && WebAssembly.validate(bytes) ? bytes : undefined;
}

/** The client's config with the compiler's module compiled from the file's bytes, when they can be read. */
function compilerFromFile(config: ClientConfig): ClientConfig {
  const own = config.compilerWasm;
  if (!own) return config;
  return {
    ...config,
    compilerWasm: {
      getRuntime: own.getRuntime,
      getQueryCompilerWasmModule: async () => {
        const bytes = readCompilerWasm();
        // A Buffer this large has an ArrayBuffer of its own: compiled as it is, not copied.
        return bytes ? new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>) : own.getQueryCompilerWasmModule();
      },
    },
  };
}

/** A Prisma client whose queries run on `pool` (createAdapter's options). */
export function createPrismaClient(pool: pg.Pool, options?: Parameters<typeof createAdapter>[1]): PrismaClient {
  const runtimeOptions: RuntimeOptions = { adapter: createAdapter(pool, options), __internal: { configOverride: compilerFromFile } };
  return new PrismaClient(runtimeOptions as ClientOptions);
}
