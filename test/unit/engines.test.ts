/**
 * One supported Node range (issue #14, item 13): package.json `engines.node` must lie inside
 * every locked package's own `engines.node` (runtime, dev and optional: CI runs them all), so a
 * dependency that needs a newer Node fails here instead of on a user's machine. The Dockerfile's
 * base image and the README name a major inside it.
 */
import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { describe, expect, test } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (f: string): string => fs.readFileSync(path.join(ROOT, f), 'utf8');
const pkg = JSON.parse(read('package.json')) as { engines: { node: string } };
const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> };
const declared = pkg.engines.node;

describe('engines.node', () => {
  test('is a valid range that the running Node satisfies', () => {
    expect(semver.validRange(declared)).not.toBeNull();
    expect(semver.satisfies(process.version, declared), `${process.version} vs ${declared}`).toBe(true);
  });

  test('lies inside every locked package\'s engines.node', () => {
    const narrower: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages)) {
      const engines = entry.engines;
      const range = engines && !Array.isArray(engines) ? engines.node : undefined;
      if (!where || !range) continue;
      if (!semver.subset(declared, range)) narrower.push(`${where.replace(/^.*node_modules\//, '')}@${entry.version}: ${range}`);
    }
    expect(narrower).toEqual([]);
  });

  test('the Dockerfile and the README name a Node major inside it', () => {
    const images = [...read('Dockerfile').matchAll(/^FROM node:(\d+)/gm)].map((m) => m[1]!);
    expect(images.length).toBeGreaterThan(0);
    for (const major of images) expect(semver.intersects(`${major}.x`, declared), `node:${major}`).toBe(true);
    expect(read('README.md')).toContain(`\`${declared}\``);
  });
});
