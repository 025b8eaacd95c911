/** devices(search:) is a plain substring: % and _ (and the escape character) match only themselves (issue #13, item 9). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers/app.ts';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
  for (const name of ['web_1', 'webX1', 'db%1', 'db-1', 'back\\slash', 'backslash']) await app.db.prisma.device.create({ data: { name, hostname: `${name.replace(/[^a-z0-9]/gi, '')}.example` } });
});
afterAll(async () => {
  await app?.close();
});

const names = async (search: string): Promise<string[]> => {
  const res = await app.gql<{ devices: { edges: { node: { name: string } }[] } }>('query ($s: String) { devices(search: $s) { edges { node { name } } } }', { s: search });
  return res.body.data!.devices.edges.map((e) => e.node.name);
};

describe('devices(search:)', () => {
  it('treats % _ and \\ as the characters they are', async () => {
    expect(await names('web_')).toEqual(['web_1']);
    expect(await names('db%')).toEqual(['db%1']);
    expect(await names('%')).toEqual(['db%1']);
    expect(await names('_')).toEqual(['web_1']);
    expect(await names('k\\s')).toEqual(['back\\slash']);
    expect((await names('WEB')).sort()).toEqual(['webX1', 'web_1']); // still case-insensitive
  });
});
