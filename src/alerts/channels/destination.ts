/**
 * Where notifications may go. A channel URL is chosen by an OPERATOR and the server sends to
 * it from inside the network, so by default (NOTIFY_ALLOW_PRIVATE_NETWORKS=false) nothing is
 * sent to loopback, private, link-local or otherwise non-public addresses: the cloud metadata
 * service, the database, an admin panel on localhost. Names are checked by the addresses they
 * resolve to, at the moment of connecting (the connection goes to the address that was
 * checked, so a name cannot resolve to a public address for the check and a private one for
 * the request).
 */
import dns from 'node:dns';
import net from 'node:net';

const BLOCKED_V4: [string, number][] = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];
const BLOCKED_V6: [string, number][] = [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
];

const blocked = new net.BlockList();
for (const [a, p] of BLOCKED_V4) blocked.addSubnet(a, p, 'ipv4');
for (const [a, p] of BLOCKED_V6) blocked.addSubnet(a, p, 'ipv6');

/** An IPv4 address written as IPv6 (::ffff:a.b.c.d, or its hex form) is judged as IPv4. */
function mappedV4(address: string): string | undefined {
  const m = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i.exec(address);
  if (!m) return undefined;
  if (m[1]) return m[1];
  const hi = parseInt(m[2]!, 16);
  const lo = parseInt(m[3]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = net.isIP(bare);
  if (family === 4) return blocked.check(bare, 'ipv4');
  if (family === 6) {
    const v4 = mappedV4(bare);
    return v4 ? blocked.check(v4, 'ipv4') : blocked.check(bare, 'ipv6');
  }
  return false;
}

export const PRIVATE_HINT = 'set NOTIFY_ALLOW_PRIVATE_NETWORKS=true to allow private and local destinations';

export class DestinationRefused extends Error {
  override readonly name = 'DestinationRefused';
}

/** For saving a channel: a URL host that is a private IP literal (names are checked when sending). */
export function literalRefusal(hostname: string, allowPrivate: boolean): string | null {
  if (allowPrivate || !isPrivateAddress(hostname)) return null;
  return `${hostname} is a private or local address (${PRIVATE_HINT})`;
}

/** The public addresses `hostname` resolves to; refuses when there is none and private ones are not allowed. */
export async function resolveDestination(hostname: string, allowPrivate: boolean): Promise<dns.LookupAddress[]> {
  const host = hostname.replace(/^\[|\]$/g, '');
  const family = net.isIP(host);
  const all = family ? [{ address: host, family }] : await dns.promises.lookup(host, { all: true, verbatim: true });
  const usable = allowPrivate ? all : all.filter((a) => !isPrivateAddress(a.address));
  if (usable.length === 0) {
    throw new DestinationRefused(family ? `${host} is a private or local address (${PRIVATE_HINT})` : `${host} resolves only to private or local addresses (${PRIVATE_HINT})`);
  }
  return usable;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** A `lookup` for net/http/tls connect options that connects only to addresses resolveDestination allows. */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    resolveDestination(hostname, allowPrivate).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        if (wanted.length === 0) return callback(Object.assign(new DestinationRefused(`${hostname} has no allowed IPv${options.family} address`), { code: 'ENOTFOUND' }), '', 0);
        if (options.all) return callback(null, wanted);
        callback(null, wanted[0]!.address, wanted[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
