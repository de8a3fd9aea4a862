/**
 * fsio: the few file-descriptor operations the WAL and the snapshot store need, as Promises over
 * node:fs's callback API. The callback API runs each call on libuv's thread pool, so writes and
 * syncs stay off the event loop, and it costs less per call than fs.promises' FileHandle.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/** IOV_MAX is the most buffers one writev may take on Linux. */
const IOV_MAX = 1024;

/** openFd opens `path` with `flags` (as for fs.open) and resolves to its descriptor. */
export function openFd(path: string, flags: string): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.open(path, flags, 0o644, (err, fd) => (err ? reject(err) : resolve(fd)));
  });
}

/** closeFd closes a descriptor. */
export function closeFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.close(fd, (err) => (err ? reject(err) : resolve()));
  });
}

/** fdatasync flushes a file's data, and the metadata needed to read it back (its size), to disk. */
export function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()));
  });
}

/** fsyncFd flushes a descriptor with fsync (used for directories, where fdatasync is not enough everywhere). */
function fsyncFd(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.fsync(fd, (err) => (err ? reject(err) : resolve()));
  });
}

/** ftruncate cuts a file to `length` bytes. */
export function ftruncate(fd: number, length: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.ftruncate(fd, length, (err) => (err ? reject(err) : resolve()));
  });
}

function writev(fd: number, bufs: readonly Uint8Array[], position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.writev(fd, bufs as Uint8Array[], position, (err, n) => (err ? reject(err) : resolve(n)));
  });
}

/**
 * writevAll writes all of `bufs` at `position` with as few system calls as the kernel allows,
 * continuing after short writes, and resolves to the number of bytes written.
 */
export async function writevAll(fd: number, bufs: readonly Uint8Array[], position: number): Promise<number> {
  let total = 0;
  for (const b of bufs) total += b.byteLength;
  let done = 0;
  let rest: readonly Uint8Array[] = bufs;
  // NB: libuv writes at most IOV_MAX buffers per call and reports the rest as a short write;
  // capping each call here keeps that visible instead of relying on it.
  while (done < total) {
    const chunk = rest.length > IOV_MAX ? rest.slice(0, IOV_MAX) : rest;
    const n = await writev(fd, chunk, position + done);
    if (n <= 0) throw new Error(`writev wrote ${n} bytes`);
    done += n;
    rest = skipBytes(rest, n);
  }
  return total;
}

/**
 * writevAllSync is writevAll on the calling thread: no thread-pool round trip, at the price of
 * blocking the event loop for the write (see WalOptions.blockingIO).
 */
export function writevAllSync(fd: number, bufs: readonly Uint8Array[], position: number): number {
  let total = 0;
  for (const b of bufs) total += b.byteLength;
  let done = 0;
  let rest: readonly Uint8Array[] = bufs;
  while (done < total) {
    const chunk = rest.length > IOV_MAX ? rest.slice(0, IOV_MAX) : rest;
    const n = fs.writevSync(fd, chunk, position + done);
    if (n <= 0) throw new Error(`writev wrote ${n} bytes`);
    done += n;
    rest = skipBytes(rest, n);
  }
  return total;
}

/** Drops the first `n` bytes from a list of buffers without copying. */
function skipBytes(bufs: readonly Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let left = n;
  for (const b of bufs) {
    if (left >= b.byteLength) {
      left -= b.byteLength;
      continue;
    }
    out.push(left > 0 ? b.subarray(left) : b);
    left = 0;
  }
  return out;
}

/**
 * fsyncDir makes the directory entries of `dir` durable: needed after creating, renaming or
 * deleting a file in it, or a crash may forget the change even though the file's data was synced.
 */
export async function fsyncDir(dir: string): Promise<void> {
  const fd = await openFd(dir, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    await closeFd(fd);
  }
}

/**
 * mkdirDurable creates `dir` and any missing parents, syncing each parent whose entries changed,
 * so a directory that a WAL or snapshot was synced into cannot vanish in a crash.
 */
export async function mkdirDurable(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      await fsp.stat(d);
      break;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT' || path.dirname(d) === d) throw err;
      missing.push(d);
    }
  }
  if (missing.length === 0) return;
  await fsp.mkdir(dir, { recursive: true });
  for (const d of missing.reverse()) await fsyncDir(path.dirname(d));
}
