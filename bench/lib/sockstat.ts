/**
 * The kernel's TCP socket figures for this network namespace, from /proc/net/sockstat: sockets in use and the
 * memory their buffers hold. RSS does not show that memory; on loopback both ends of every connection are counted.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseSockstat } from '../suite/push-scale-model.ts';

export interface TcpSockstat {
  /** TCP sockets in use (both ends of a loopback connection count). */
  inuse: number;
  /** Bytes the kernel holds in TCP socket buffers (sockstat's `mem`, pages, times the page size). */
  memBytes: number;
}

let pageSize: number | undefined;

function systemPageSize(): number {
  if (pageSize === undefined) {
    const out = Number(execFileSync('getconf', ['PAGESIZE'], { encoding: 'utf8' }).trim());
    pageSize = Number.isInteger(out) && out > 0 ? out : 4096;
  }
  return pageSize;
}

/** Sockstat's `TCP:` line; `page` is the page size its `mem` is counted in. */
export function parseTcpSockstat(text: string, page: number): TcpSockstat {
  const tcp = parseSockstat(text).TCP;
  if (tcp?.inuse === undefined || tcp.mem === undefined) throw new Error('no TCP line in /proc/net/sockstat');
  return { inuse: tcp.inuse, memBytes: tcp.mem * page };
}

export function tcpSockstat(): TcpSockstat {
  return parseTcpSockstat(readFileSync('/proc/net/sockstat', 'utf8'), systemPageSize());
}
