import { expect, it } from 'vitest';
import type { Services } from '../../../src/graphql/context.ts';
import { requestContext } from '../../../src/server/yoga.ts';
import { hiddenClassCount } from '../../helpers/hidden-classes.ts';

it('builds every request context on one hidden class (services spread first, then the caller, built a new one per request)', () => {
  const services = { config: {}, log: {}, db: {}, events: {}, secrets: {}, subscribers: { ws: 0, sse: 0 } } as unknown as Services;
  const contexts = Array.from({ length: 30 }, (_, i) => requestContext(services, i % 2 ? null : { role: 'ADMIN', tokenId: `t${i}` } as never));
  expect(contexts.every((c) => c.config === services.config)).toBe(true);
  expect(hiddenClassCount(contexts)).toBe(1);
});
