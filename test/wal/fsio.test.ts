// fsio: writing many buffers in as few calls as the kernel allows (more than IOV_MAX buffers
// take several writev calls, each picking up where the last stopped) on the thread pool and on
// the calling thread, and creating a directory chain durably. Written for fsio.ts's surviving
// mutants (test/README.md, "src/raft/wal"): the WAL writes few buffers per batch, so the
// several-calls path had never run.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeFd, mkdirDurable, openFd, writevAll, writevAllSync } from '../../src/raft/wal/fsio.js';
import { TempDirs } from './helpers.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

/** 1,500 buffers (over Linux's IOV_MAX of 1,024) of 1 to 7 bytes, each byte naming its buffer. */
function manyBuffers(): Uint8Array[] {
  return Array.from({ length: 1500 }, (_, i) => new Uint8Array(1 + (i % 7)).fill(i % 251));
}

function joined(bufs: readonly Uint8Array[]): Buffer {
  return Buffer.concat(bufs.map((b) => Buffer.from(b)));
}

describe('writevAll and writevAllSync', () => {
  for (const [label, write] of [
    ['on the thread pool', writevAll],
    ['on the calling thread', (fd: number, bufs: readonly Uint8Array[], at: number) => Promise.resolve(writevAllSync(fd, bufs, at))],
  ] as const) {
    it(`write more buffers than one call takes, every byte in order at the position given (${label})`, async () => {
      const file = path.join(dirs.make(), 'f');
      const fd = await openFd(file, 'w');
      const bufs = manyBuffers();
      const head = new Uint8Array(10).fill(0xee);
      expect(await write(fd, [head], 0)).toBe(10);
      expect(await write(fd, bufs, 10)).toBe(joined(bufs).length);
      await closeFd(fd);
      expect(fs.readFileSync(file)).toEqual(Buffer.concat([Buffer.from(head), joined(bufs)]));
    });
  }

  it('write nothing for no buffers', async () => {
    const file = path.join(dirs.make(), 'f');
    const fd = await openFd(file, 'w');
    expect(await writevAll(fd, [], 0)).toBe(0);
    expect(writevAllSync(fd, [new Uint8Array(0)], 0)).toBe(0);
    await closeFd(fd);
    expect(fs.statSync(file).size).toBe(0);
  });
});

describe('mkdirDurable', () => {
  it('creates every missing directory of a chain, and leaves an existing one alone', async () => {
    const root = dirs.make();
    const deep = path.join(root, 'a', 'b', 'c');
    await mkdirDurable(deep);
    expect(fs.statSync(deep).isDirectory()).toBe(true);
    fs.writeFileSync(path.join(deep, 'kept'), 'x');
    await mkdirDurable(deep);
    expect(fs.readdirSync(deep)).toEqual(['kept']);
  });

  it('passes on an error other than a missing directory, such as a file in the chain', async () => {
    const root = dirs.make();
    fs.writeFileSync(path.join(root, 'file'), 'x');
    await expect(mkdirDurable(path.join(root, 'file', 'sub'))).rejects.toMatchObject({ code: 'ENOTDIR' });
  });
});
