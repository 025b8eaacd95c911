/**
 * graphql-ws `next` frames are built by us (src/server/ws.ts, nextFrame) and written straight to
 * the socket. ws's own Receiver, the parser every ws client runs, must read them back as the
 * messages they carry, at every length encoding (7 bits, 16 bits, 64 bits) and at the edges
 * between them; and a member whose prefix differs in length from the one before must get a
 * header of its own for the same result.
 */
import type { EventEmitter } from 'node:events';
import * as wsExports from 'ws';
import { describe, expect, it } from 'vitest';
import { SharedResult } from '../../../src/server/groups.ts';
import { frameHeader, nextFrame } from '../../../src/server/ws.ts';

/** ws's frame parser: ws exports it, @types/ws does not declare it. */
interface FrameReceiver extends EventEmitter {
  write(chunk: Buffer): boolean;
}
const { Receiver } = wsExports as unknown as { Receiver: new (options: { isServer: boolean; maxPayload: number }) => FrameReceiver };

/** Every message ws's client-side Receiver reads from `bytes`, as text; throws what it refuses. */
function receive(bytes: Buffer): string[] {
  const messages: string[] = [];
  let failure: Error | undefined;
  const receiver = new Receiver({ isServer: false, maxPayload: 0 });
  receiver.on('message', (data: Buffer, isBinary: boolean) => {
    expect(isBinary).toBe(false);
    messages.push(data.toString());
  });
  receiver.on('error', (err: Error) => (failure = err));
  receiver.write(bytes);
  if (failure) throw failure;
  return messages;
}

const prefixOf = (id: string): Buffer => Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);

describe('graphql-ws next frames', () => {
  it.each([0, 1, 125, 126, 127, 65_535, 65_536, 70_000, 1_000_000])('a payload of %i bytes reads back through ws as the message it carries', (size) => {
    // A JSON string of `size` bytes in all: "x…x" (at least the two quotes).
    const json = JSON.stringify('x'.repeat(Math.max(0, size - 2)));
    const prefix = prefixOf('a-1');
    const frame = Buffer.concat(nextFrame(prefix, new SharedResult(json, undefined)));
    const [message, ...rest] = receive(frame);
    expect(rest).toEqual([]);
    expect(JSON.parse(message!)).toEqual({ id: 'a-1', type: 'next', payload: JSON.parse(json) });
  });

  it('frames one result for members with prefixes of different lengths, one after another', () => {
    const result = new SharedResult('{"data":{"n":1}}', undefined);
    const ids = ['1', '2', 'a-much-longer-subscription-id', '3', 'x'.repeat(200)];
    const frames = ids.map((id) => Buffer.concat(nextFrame(prefixOf(id), result)));
    // Two frames on one socket, back to back, as a corked tick writes them.
    const messages = receive(Buffer.concat(frames));
    expect(messages.map((m) => JSON.parse(m))).toEqual(ids.map((id) => ({ id, type: 'next', payload: { data: { n: 1 } } })));
  });

  it('shares the result bytes between members instead of copying them', () => {
    const result = new SharedResult(JSON.stringify({ data: { big: 'y'.repeat(5000) } }), undefined);
    const a = nextFrame(prefixOf('a'), result);
    const b = nextFrame(prefixOf('b'), result);
    expect(a[2]).toBe(b[2]);
    expect(a[0]).toBe(b[0]);
    expect(nextFrame(prefixOf('a'), new SharedResult('{}', undefined))[2]).not.toBe(a[2]);
  });

  it('writes the length as RFC 6455 says', () => {
    expect([...frameHeader(125)]).toEqual([0x81, 125]);
    expect([...frameHeader(126)]).toEqual([0x81, 126, 0, 126]);
    expect([...frameHeader(65_535)]).toEqual([0x81, 126, 0xff, 0xff]);
    expect([...frameHeader(65_536)]).toEqual([0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    expect([...frameHeader(2 ** 40 + 5)]).toEqual([0x81, 127, 0, 0, 1, 0, 0, 0, 0, 5]);
  });
});
