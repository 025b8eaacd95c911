/**
 * Issue #16 item 5 (idle server < 100 MB): packages that only some configurations use are
 * imported when first used, not at start. Importing the composition root (src/main.ts, as
 * `infrapulse serve` does) must not load the Redis client (only with REDIS_URL) nor the SMTP
 * library (only when an EMAIL channel sends). Each one resident costs an idle server
 * megabytes of module source, compiled code and objects.
 */
import { expect, test } from 'vitest';
import { modulesLoadedBy, packagesIn } from '../helpers/loaded-modules.ts';

test('starting the server loads neither the Redis client nor the SMTP library', () => {
  const urls = modulesLoadedBy("await import('./src/main.ts');");
  // The hook saw the server's own graph (so an empty answer below is not a hook that saw nothing).
  expect(packagesIn(urls, ['graphql-yoga', 'ssh2'])).toEqual(['graphql-yoga', 'ssh2']);
  expect(packagesIn(urls, ['ioredis', '@graphql-yoga/redis-event-target', 'nodemailer'])).toEqual([]);
}, 90_000);
