/**
 * V8's own answer to "do these objects share a hidden class" (%HaveSameMap), for tests of code
 * that builds an object per poll, row or event: on Node 20's V8 a literal that begins with a
 * spread and then adds a property builds a new hidden class, in the old generation, every time
 * its site has warmed up (about ten calls). Natives syntax is on only while this one function
 * is compiled.
 */
import v8 from 'node:v8';

const haveSameMap = ((): ((a: object, b: object) => boolean) => {
  v8.setFlagsFromString('--allow-natives-syntax');
  try {
    return new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: object, b: object) => boolean;
  } finally {
    v8.setFlagsFromString('--no-allow-natives-syntax');
  }
})();

/** How many hidden classes `objects` have between them. */
export function hiddenClassCount(objects: readonly object[]): number {
  const seen: object[] = [];
  for (const o of objects) if (!seen.some((s) => haveSameMap(s, o))) seen.push(o);
  return seen.length;
}
