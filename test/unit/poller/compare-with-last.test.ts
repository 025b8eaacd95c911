import { describe, expect, it } from 'vitest';
import { compareWithLast } from '../../../src/poller/poll-device.ts';

type Item = { id: string; state: string };
const same = (a: string, b: string): boolean => a === b;

/** One poll's comparison: the changes it reports and the map it leaves. */
function poll(last: Map<string, string> | undefined, items: Item[]): { map: Map<string, string>; changes: string[] } {
  const changes: string[] = [];
  const map = compareWithLast(last, items, (i) => i.id, (i) => i.state, same, (i, before) => changes.push(`${i.id}: ${before ?? 'new'} → ${i.state}`));
  return { map, changes };
}

describe('compareWithLast (change events of containers, drives, pools, sensors)', () => {
  it('sets the baseline on the first poll, then reports what is new or changed, and only that', () => {
    const first = poll(undefined, [{ id: 'a', state: 'running' }]);
    expect(first.changes).toEqual([]);
    const second = poll(first.map, [{ id: 'a', state: 'running' }, { id: 'b', state: 'running' }]);
    expect(second.changes).toEqual(['b: new → running']);
    const third = poll(second.map, [{ id: 'a', state: 'exited' }, { id: 'b', state: 'running' }]);
    expect(third.changes).toEqual(['a: running → exited']);
  });

  it('forgets what left the poll: it comes back as new', () => {
    const first = poll(undefined, [{ id: 'a', state: 'running' }, { id: 'b', state: 'running' }]);
    const gone = poll(first.map, [{ id: 'a', state: 'running' }]);
    expect(gone.changes).toEqual([]);
    expect([...gone.map.keys()]).toEqual(['a']);
    expect(poll(gone.map, [{ id: 'a', state: 'running' }, { id: 'b', state: 'running' }]).changes).toEqual(['b: new → running']);
  });

  it('keeps one map per device, updated in place (no copy per poll for V8 to promote)', () => {
    const first = poll(undefined, [{ id: 'a', state: 'running' }]);
    let map = first.map;
    for (const state of ['running', 'exited', 'exited']) map = poll(map, [{ id: 'a', state }]).map;
    expect(map).toBe(first.map);
    expect(map.get('a')).toBe('exited');
  });
});
