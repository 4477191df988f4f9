import { createPrivateKey, generateKeyPairSync } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { encodePem, looksLikePem, pemBodyRegion, readPemBlocks } from './pem-block.js';

const ed = generateKeyPairSync('ed25519');
const edPem = ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const edDer = ed.privateKey.export({ type: 'pkcs8', format: 'der' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPem = rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
const rsaDer = rsa.privateKey.export({ type: 'pkcs1', format: 'der' });

describe('readPemBlocks', () => {
  it('decodes the DER of an Ed25519 PKCS#8 and an RSA PKCS#1 key as Node writes them', () => {
    expect(readPemBlocks(Buffer.from(edPem))).toEqual([{ label: 'PRIVATE KEY', der: edDer, headers: false }]);
    expect(readPemBlocks(Buffer.from(rsaPem))).toEqual([
      { label: 'RSA PRIVATE KEY', der: rsaDer, headers: false },
    ]);
  });

  it('reads the same DER from CRLF line ends, indentation, one long line and `\\n` escapes', () => {
    const body = rsaPem.split('\n').slice(1, -2).join('');
    const variants = [
      rsaPem.replace(/\n/g, '\r\n'),
      rsaPem.replace(/\n/g, '\n    '),
      `-----BEGIN RSA PRIVATE KEY-----${body}-----END RSA PRIVATE KEY-----`,
      rsaPem.replace(/\n/g, '\\n'),
      `  \n\n${rsaPem}\n\n`,
    ];
    for (const text of variants) expect(readPemBlocks(Buffer.from(text))[0]?.der).toEqual(rsaDer);
  });

  it("skips RFC 1421 header lines and says so (OpenSSL's legacy encrypted keys)", () => {
    const legacy = rsa.privateKey
      .export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
      .toString();
    expect(legacy).toContain('Proc-Type: 4,ENCRYPTED');
    const [block] = readPemBlocks(Buffer.from(legacy));
    expect(block?.headers).toBe(true);
    expect(block?.label).toBe('RSA PRIVATE KEY');
    // What remains is the ciphertext: not the key.
    expect(block?.der.equals(rsaDer)).toBe(false);
  });

  it('leaves out blocks that are not PEM: bad base64, missing or mismatched END, a lowercase label', () => {
    const body = edPem.split('\n')[1] ?? '';
    expect(
      readPemBlocks(Buffer.from(`-----BEGIN PRIVATE KEY-----\n${body}!\n-----END PRIVATE KEY-----`)),
    ).toEqual([]);
    expect(readPemBlocks(Buffer.from(`-----BEGIN PRIVATE KEY-----\n${body}\n`))).toEqual([]);
    expect(
      readPemBlocks(Buffer.from(`-----BEGIN PRIVATE KEY-----\n${body}\n-----END PUBLIC KEY-----`)),
    ).toEqual([]);
    expect(
      readPemBlocks(Buffer.from(`-----BEGIN private key-----\n${body}\n-----END private key-----`)),
    ).toEqual([]);
    expect(readPemBlocks(Buffer.from('-----BEGIN PRIVATE KEY-----\n\n-----END PRIVATE KEY-----'))).toEqual(
      [],
    );
  });

  it('finds every block of a bundle, in order', () => {
    const pub = ed.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(readPemBlocks(Buffer.from(`${edPem}${pub}`)).map((b) => b.label)).toEqual([
      'PRIVATE KEY',
      'PUBLIC KEY',
    ]);
  });
});

describe('encodePem', () => {
  it("writes exactly Node's (and OpenSSL's) PEM text for the same DER", () => {
    expect(encodePem('PRIVATE KEY', edDer).toString()).toBe(edPem);
    expect(encodePem('RSA PRIVATE KEY', rsaDer).toString()).toBe(rsaPem);
    const pkcs8 = rsa.privateKey.export({ type: 'pkcs8', format: 'der' });
    expect(createPrivateKey(encodePem('PRIVATE KEY', pkcs8)).asymmetricKeyType).toBe('rsa');
  });

  it('pads bodies of every length', () => {
    for (const length of [1, 2, 3, 47, 48, 49, 50]) {
      const der = Buffer.alloc(length, 0xa5);
      expect(readPemBlocks(encodePem('TEST', der))[0]?.der).toEqual(der);
    }
  });
});

describe('looksLikePem', () => {
  it('is true only with a BEGIN marker', () => {
    expect(looksLikePem(Buffer.from(edPem))).toBe(true);
    expect(
      looksLikePem(Buffer.from('NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j')),
    ).toBe(false);
  });
});

describe('pemBodyRegion', () => {
  it('is the text between the armor lines of a value that is one PEM block, past any header lines', () => {
    const body = edPem.split('\n')[1] ?? '';
    expect(pemBodyRegion(Buffer.from(`\n ${edPem}\n`))?.toString()).toBe(`\n${body}\n`);
    const legacy = rsa.privateKey
      .export({ type: 'pkcs1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
      .toString();
    const region = pemBodyRegion(Buffer.from(legacy))?.toString() ?? '';
    expect(region).not.toMatch(/Proc-Type|DEK-Info|ENCRYPTED/);
    expect(legacy).toContain(region.trim().split('\n')[0]);
  });

  it('is undefined for text around the block, two blocks, or no END line', () => {
    expect(pemBodyRegion(Buffer.from(`Bag Attributes\n${edPem}`))).toBeUndefined();
    expect(pemBodyRegion(Buffer.from(`${edPem}${rsaPem}`))).toBeUndefined();
    expect(pemBodyRegion(Buffer.from(edPem.slice(0, 80)))).toBeUndefined();
    expect(pemBodyRegion(Buffer.from('NhqPtmdSJYdKjVHjA7PZj4Mge3R5'))).toBeUndefined();
  });
});
