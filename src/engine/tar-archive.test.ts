import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../errors.js';
import { readTar, writeTar } from './tar-archive.js';

// Written by Python's tarfile (PAX format, gzipped): `./adapter_config.json`, a 120-character name
// under d/ (a PAX `path` record) and a directory entry.
const PYTHON_PAX_TGZ =
  'H4sIAByhE2sC/+3VTQqCQBjG8Vl3isEDzIejBkHQsmU3iDHNjBrFDxCiA3WOLpa1iEpCgtSFz2/zDrN5F8OfYVwHOi3CbL1JzDaO' +
  '2D5PDPkvUfMc5zFrn1MI+XK+30s5VZJQQXpQ5oXO6vVknE5WZs2ofSYwSowzvljpahnqIMy62fGl+2fzdqN/YQuP0Ar9d04qj6a6' +
  '2M0DXg2E+bGZoMRh9PHs7f+/896/cqXj4v/vwyExETX6GNLrBTWMT176vOsdrf03zp6rFKEu+gcAAAAAAAAAAAAAAAD4yQ0KPZdt' +
  'ACgAAA==';
// Written by Python's tarfile (GNU format, gzipped): a symbolic link to /etc/passwd.
const PYTHON_SYMLINK_TGZ =
  'H4sIAByhE2sC/+3OMQqDMACF4RwlNzDWkPtI61AUEaN4/UpHOzsUvm/53/im9zyGm6VTyfnb07W/u02la0N8NMP2bJa+1uN127m9' +
  'bv0aYwAAAAAAAAAAAIA/8gH4mFlcACgAAA==';

describe('tar archives', () => {
  it('round-trips files, gzipped or not', () => {
    const files = { 'adapter_config.json': '{"r": 4}\n', 'adapter_model.safetensors': new Uint8Array([1, 2, 3, 250]) };
    const archive = writeTar(files);
    expect(archive.length % 512).toBe(0);
    for (const bytes of [archive, gzipSync(archive)]) {
      const read = readTar(bytes, 'a.tar');
      expect([...read.keys()]).toEqual(Object.keys(files));
      expect(read.get('adapter_config.json')!.toString('utf-8')).toBe('{"r": 4}\n');
      expect([...read.get('adapter_model.safetensors')!]).toEqual([1, 2, 3, 250]);
    }
  });

  it("reads Python tarfile's PAX archives: ./ prefixes, long names, directories skipped", () => {
    const read = readTar(Buffer.from(PYTHON_PAX_TGZ, 'base64'), 'python.tar.gz');
    expect([...read.keys()]).toEqual(['adapter_config.json', `d/${'x'.repeat(120)}.bin`]);
    expect(read.get('adapter_config.json')!.toString()).toBe('{"r": 2}');
    expect(read.get(`d/${'x'.repeat(120)}.bin`)!.toString('utf-8')).toBe('long name é');
  });

  it('refuses links, escaping paths, bad checksums and truncation, naming the archive', () => {
    expect(() => readTar(Buffer.from(PYTHON_SYMLINK_TGZ, 'base64'), 'evil.tgz')).toThrow(
      /evil.tgz: entry "link" is a symbolic link entry/,
    );
    expect(() => writeTar({ '../x': 'a' })).toThrow(/not a plain relative path/);
    const archive = writeTar({ 'a.txt': 'x'.repeat(1000) });
    const damaged = Buffer.from(archive);
    damaged[10] = 65;
    expect(() => readTar(damaged, 'd.tar')).toThrow(/bad checksum/);
    expect(() => readTar(archive.subarray(0, 1024), 't.tar')).toThrow(/t.tar is truncated/);
    expect(() => readTar(Buffer.from('not a tar archive at all'), 'x.tar')).toThrow(CheckpointError);
  });
});
