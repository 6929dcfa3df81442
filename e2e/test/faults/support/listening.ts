import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * The addresses a process listens on for TCP, read from Linux's /proc: its socket descriptors,
 * looked up in the kernel's tables of IPv4 and IPv6 sockets (`/proc/<pid>/net/tcp`, `tcp6`).
 */
export function listeningAddresses(pid: number): string[] {
  const inodes = new Set(
    readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
      try {
        return /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? [];
      } catch {
        return []; // closed between the listing and the read
      }
    }),
  );
  return (['tcp', 'tcp6'] as const).flatMap((table) =>
    readFileSync(`/proc/${pid}/net/${table}`, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      // Columns: sl, local_address, rem_address, st (0A is LISTEN), ..., inode (the tenth).
      .filter((columns) => columns[3] === '0A' && inodes.has(columns[9] ?? ''))
      .map((columns) => addressOf(columns[1] ?? '', table === 'tcp6')),
  );
}

/** `0100007F:0FA0` → `127.0.0.1:4000`; the kernel prints each 32-bit word of the address in host (little-endian) order. */
function addressOf(hex: string, ipv6: boolean): string {
  const [address = '', port = ''] = hex.split(':');
  const words = address.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((word) => (word.match(/../g) ?? []).reverse().map((byte) => parseInt(byte, 16)));
  if (!ipv6) return `${bytes.join('.')}:${parseInt(port, 16)}`;
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
  return `[${groups.join(':')}]:${parseInt(port, 16)}`;
}

/** 127.0.0.0/8, ::1, or an IPv4 loopback address mapped into IPv6. */
export function isLoopback(address: string): boolean {
  return (
    /^127\./.test(address) || /^\[0:0:0:0:0:0:0:1\]:/.test(address) || /^\[0:0:0:0:0:ffff:7f[0-9a-f]{2}:/.test(address)
  );
}
