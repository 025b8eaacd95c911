/**
 * Queries and mutations execute compiled (graphql-jit, cached per document): graphql-js's
 * executor allocated ~9 MB per `devices(first: 500)`, a scavenge per request and the tail of
 * the query bench (docs/benchmarks.md, *Queries: the tail was the scavenges*). Only
 * onExecute here; a subscription compiles its document itself for its events, live and
 * replayed (groups.ts, `eventExecutor`).
 *
 * graphql-jit builds each result as an object literal, where a field or alias named
 * `__proto__` sets the prototype instead of a property (the field vanished from the
 * response): such a document runs on graphql-js as before.
 */
import { useGraphQlJit } from '@envelop/graphql-jit';
import { visit, type DocumentNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const plain = new WeakMap<DocumentNode, boolean>();

/** Whether graphql-jit may run `document` (no field or alias named `__proto__`). */
export function compilable(document: DocumentNode): boolean {
  let ok = plain.get(document);
  if (ok === undefined) {
    ok = true;
    visit(document, {
      Field(node) {
        if ((node.alias ?? node.name).value === '__proto__') ok = false;
      },
    });
    plain.set(document, ok);
  }
  return ok;
}

export function jitPlugin(): Plugin {
  return { onExecute: useGraphQlJit({}, { enableIf: (args) => compilable(args.document) }).onExecute } as Plugin;
}
