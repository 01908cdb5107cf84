/**
 * Outbound address policy for the `http` provider (SSRF defence).
 *
 * Every address a request would connect to (an IP-literal URL, or EVERY address DNS returns for
 * a host name) must be public, unless the operator's `httpAllowedPrivateCidrs` covers it. Refused:
 * loopback, RFC 1918 / ULA private, link-local, CGNAT, unspecified, multicast, broadcast and
 * reserved/documentation ranges, plus the IPv4 embedded in IPv4-mapped (`::ffff:a.b.c.d`), NAT64
 * (`64:ff9b::/96`) and 6to4 (`2002::/16`) IPv6 addresses. Cloud metadata endpoints are refused
 * ALWAYS, even when an operator CIDR covers them (an operator opening 169.254.0.0/16 for a
 * link-local service must not hand tenants the instance's credentials).
 *
 * The CIDR checks use `net.BlockList`; the DNS resolver is injectable for tests.
 *
 * @example
 *   const allowed = operatorAllowList(['127.0.0.0/8']);
 *   const verdict = checkAddress('10.0.0.1', allowed); // { ok: false, reason: '10.0.0.1 is a private/reserved address' }
 *   const addrs = await resolveHost('api.example.com', signal); // [{ address, family }]
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to all of its addresses (like `dns.lookup(host, { all: true })`). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

const systemResolver: Resolver = async (hostname) => {
  const rows = await lookup(hostname, { all: true, order: 'verbatim' });
  return rows.map((r) => ({ address: r.address, family: r.family === 6 ? 6 : 4 }));
};

let resolver: Resolver = systemResolver;

/** Tests only: replace the DNS resolver (`undefined` restores the system resolver). */
export function setResolverForTests(fn: Resolver | undefined): void {
  resolver = fn ?? systemResolver;
}

/** Resolve `hostname` with the current resolver; rejects with the signal's reason when it aborts first. */
export function resolveHost(hostname: string, signal: AbortSignal): Promise<ResolvedAddress[]> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    resolver(hostname).then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------------------------

const forbiddenV4: ReadonlyArray<[string, number]> = [
  ['0.0.0.0', 8], // "this network" / unspecified
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // CGNAT (also Alibaba's metadata 100.100.100.200)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (AWS/GCP/Azure/OpenStack metadata 169.254.169.254)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments (Oracle metadata 192.0.0.192)
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // 6to4 relay anycast
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved + 255.255.255.255 broadcast
];

const forbiddenV6: ReadonlyArray<[string, number]> = [
  ['::', 96], // unspecified (::), loopback (::1), deprecated IPv4-compatible ::a.b.c.d
  ['100::', 64], // discard-only
  ['64:ff9b:1::', 48], // local-use NAT64
  ['2001::', 32], // Teredo (embedded IPv4 is obfuscated; nothing legitimate to fetch there)
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

/** Refused even when an operator CIDR covers them. */
const metadataAddresses: ReadonlyArray<[string, 4 | 6]> = [
  ['169.254.169.254', 4], // AWS, GCP, Azure, OpenStack, DigitalOcean…
  ['169.254.170.2', 4], // AWS ECS task metadata
  ['168.63.129.16', 4], // Azure WireServer (a public-looking address)
  ['100.100.100.200', 4], // Alibaba Cloud
  ['192.0.0.192', 4], // Oracle Cloud
  ['fd00:ec2::254', 6], // AWS IPv6 metadata
];

const forbidden = new BlockList();
for (const [a, p] of forbiddenV4) forbidden.addSubnet(a, p, 'ipv4');
for (const [a, p] of forbiddenV6) forbidden.addSubnet(a, p, 'ipv6');

const metadata = new BlockList();
for (const [a, f] of metadataAddresses) metadata.addAddress(a, f === 4 ? 'ipv4' : 'ipv6');

// ---------------------------------------------------------------------------------------------
// Operator allowance
// ---------------------------------------------------------------------------------------------

const allowCache = new WeakMap<readonly string[], BlockList>();

/**
 * The operator's `httpAllowedPrivateCidrs` as a BlockList (cached per array). Entries are CIDRs
 * (`127.0.0.0/8`, `fd12::/16`) or bare addresses; invalid entries are ignored (the runner's config
 * loader validates them).
 */
export function operatorAllowList(cidrs: readonly string[]): BlockList {
  const hit = allowCache.get(cidrs);
  if (hit) return hit;
  const list = new BlockList();
  for (const raw of cidrs) {
    const text = String(raw).trim();
    const slash = text.indexOf('/');
    const addr = slash < 0 ? text : text.slice(0, slash);
    const family = isIP(addr);
    if (family === 0) continue;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const max = family === 4 ? 32 : 128;
    const prefix = slash < 0 ? max : Number(text.slice(slash + 1));
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (slash >= 0 && !/^\d+$/.test(text.slice(slash + 1)))) continue;
    try {
      list.addSubnet(addr, prefix, type);
    } catch {
      // ignore an entry Node cannot parse
    }
  }
  allowCache.set(cidrs, list);
  return list;
}

// ---------------------------------------------------------------------------------------------
// Address checks
// ---------------------------------------------------------------------------------------------

/** The 16 bytes of an IPv6 address (any textual form, incl. a trailing dotted quad), or null. */
export function ipv6Bytes(address: string): Uint8Array | null {
  let text = address;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  if (isIP(text) !== 6) return null;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    tail = last.split('.').map(Number);
    const hi = ((tail[0] << 8) | tail[1]).toString(16);
    const lo = ((tail[2] << 8) | tail[3]).toString(16);
    text = `${text.slice(0, lastColon + 1)}${hi}:${lo}`;
  }
  const halves = text.split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((h) => parseInt(h, 16)));
  const head = parse(halves[0]);
  const rest = halves.length > 1 ? parse(halves[1]) : [];
  const words = halves.length > 1 ? [...head, ...new Array(8 - head.length - rest.length).fill(0), ...rest] : head;
  if (words.length !== 8) return null;
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = (w >> 8) & 0xff;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

const v4 = (b: Uint8Array, at: number) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;

/** The IPv4 address an IPv6 address embeds and would reach: IPv4-mapped, NAT64 (64:ff9b::/96), 6to4. */
export function embeddedIPv4(address: string): string | null {
  const b = ipv6Bytes(address);
  if (!b) return null;
  // ::ffff:a.b.c.d
  if (startsWith(b, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff])) return v4(b, 12);
  // 64:ff9b::a.b.c.d (well-known NAT64 prefix)
  if (startsWith(b, [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0])) return v4(b, 12);
  // 2002:AABB:CCDD::/48 (6to4)
  if (startsWith(b, [0x20, 0x02])) return v4(b, 2);
  return null;
}

export type AddressVerdict = { ok: true } | { ok: false; reason: string };

/**
 * May a request connect to `address`? Public addresses: yes. Private/reserved ones: only inside
 * the operator allowance. Metadata endpoints: never.
 */
export function checkAddress(address: string, allowed: BlockList): AddressVerdict {
  const family = isIP(address);
  if (family === 0) return { ok: false, reason: `${address} is not an IP address` };
  const type = family === 4 ? 'ipv4' : 'ipv6';
  const embedded = family === 6 ? embeddedIPv4(address) : null;
  const bytes = family === 6 ? ipv6Bytes(address) : null;
  const isMapped = bytes !== null && startsWith(bytes, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);

  if (metadata.check(address, type) || (embedded !== null && metadata.check(embedded, 'ipv4'))) {
    return { ok: false, reason: `${address} is a cloud metadata address` };
  }
  const bad = forbidden.check(address, type) || (embedded !== null && forbidden.check(embedded, 'ipv4'));
  if (!bad) return { ok: true };
  // An IPv4-mapped address reaches the IPv4 address itself, so an IPv4 allowance covers it.
  const allowedHere = allowed.check(address, type) || (isMapped && allowed.check(embedded!, 'ipv4'));
  if (allowedHere) return { ok: true };
  return { ok: false, reason: `${address} is a private, loopback, link-local or reserved address` };
}

/** Check every address; the first refusal wins. */
export function checkAddresses(addresses: readonly ResolvedAddress[], allowed: BlockList): AddressVerdict {
  if (addresses.length === 0) return { ok: false, reason: 'no addresses' };
  for (const a of addresses) {
    const v = checkAddress(a.address, allowed);
    if (!v.ok) return v;
  }
  return { ok: true };
}
