/**
 * Child process for request-state.test.ts: `requests` request contexts, each holding about 20 KB
 * of rows and its batch loaders (latestLoaders, whose closures reach the context), made one at a
 * time and dropped; how many of their bytes outlive a scavenge (test/helpers/young-survivors.ts).
 * Needs --expose-gc.
 */
import type { Context } from '../../../src/graphql/context.ts';
import { latestLoaders } from '../../../src/graphql/loaders.ts';
import { reportYoungSurvivors } from '../../helpers/young-survivors.ts';

const requests = Number(process.argv[2] ?? 2000);

function request(): void {
  const ctx = { rows: Array.from({ length: 200 }, (_, i) => ({ i, at: new Date(i), value: i / 3 })) } as unknown as Context;
  latestLoaders(ctx);
}

for (let i = 0; i < 200; i++) request();
await reportYoungSurvivors(async () => {
  for (let i = 0; i < requests; i++) {
    request();
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
  }
});
