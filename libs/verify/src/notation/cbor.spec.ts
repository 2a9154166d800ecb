import { randomBytes } from 'node:crypto';
import { CborError, CborTag, decodeCbor, encodeHead } from './cbor.js';
import { encode, Raw, Tagged, type Cbor } from './cose.test.js';

const hex = (text: string) => Buffer.from(text.replace(/\s/g, ''), 'hex');

describe('decodeCbor', () => {
  it('decodes the RFC 8949 appendix A examples it accepts', () => {
    expect(decodeCbor(hex('00'))).toBe(0);
    expect(decodeCbor(hex('1903e8'))).toBe(1000);
    expect(decodeCbor(hex('1b001fffffffffffff'))).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeCbor(hex('3903e7'))).toBe(-1000);
    expect(decodeCbor(hex('f93c00'))).toBe(1);
    expect(decodeCbor(hex('fa47c35000'))).toBe(100000);
    expect(decodeCbor(hex('fb3ff199999999999a'))).toBe(1.1);
    expect(decodeCbor(hex('f4'))).toBe(false);
    expect(decodeCbor(hex('f6'))).toBeNull();
    expect(decodeCbor(hex('6449455446'))).toBe('IETF');
    expect(decodeCbor(hex('4401020304'))).toEqual(Buffer.from([1, 2, 3, 4]));
    expect(decodeCbor(hex('83010203'))).toEqual([1, 2, 3]);
    expect(decodeCbor(hex('c11a514b67b0'))).toEqual(new CborTag(1, 1363896240));
    const map = decodeCbor(hex('a201020304'));
    expect(map).toEqual(
      new Map([
        [1, 2],
        [3, 4],
      ]),
    );
  });

  it('keeps integer and text keys apart', () => {
    const map = decodeCbor(
      encode(
        new Map<Cbor, Cbor>([
          [1, 'int'],
          ['1', 'text'],
        ]),
      ),
    );
    expect(map).toEqual(
      new Map<number | string, string>([
        [1, 'int'],
        ['1', 'text'],
      ]),
    );
  });

  it.each([
    ['an indefinite-length array', '9f01ff', /indefinite/],
    ['an indefinite-length byte string', '5f42010243030405ff', /indefinite/],
    ['an indefinite-length map', 'bf6346756ef563416d7421ff', /indefinite/],
    ['a duplicate integer key', 'a201020103', /duplicate map key 1/],
    ['a duplicate text key', 'a2616101616102', /duplicate map key "a"/],
    ['a byte string key', 'a1410101', /keys must be integers or text/],
    ['an array key', 'a1800101', /keys must be integers or text/],
    ['trailing bytes', '0000', /1 trailing byte/],
    ['a truncated byte string', '4501020304', /end of input/],
    ['a truncated length', '19', /end of input/],
    ['empty input', '', /end of input/],
    ['a reserved additional information', '1c', /reserved/],
    ['a lone break', 'ff', /break/],
    ['an unassigned simple value', 'f0', /simple value/],
    ['a two-byte simple value', 'f820', /simple value/],
    ['an integer beyond 2^53', '1b0020000000000000', /out of range/],
    ['invalid UTF-8', '62c328', /UTF-8/],
    ['a huge array count', '9bffffffffffffffff', /out of range/],
    ['an array count larger than the input', '9a0000ffff00', /do not fit/],
    ['a byte string longer than the input', '5a7fffffff00', /end of input/],
  ])('refuses %s', (_name, bytes, message) => {
    expect(() => decodeCbor(hex(bytes))).toThrow(CborError);
    expect(() => decodeCbor(hex(bytes))).toThrow(message);
  });

  it('caps nesting depth and the number of items', () => {
    const deep = Buffer.concat([Buffer.alloc(20, 0x81), hex('00')]);
    expect(() => decodeCbor(deep)).toThrow(/deeper than 16/);
    expect(decodeCbor(deep, { maxDepth: 21 })).toBeDefined();
    const tags = Buffer.concat([Buffer.alloc(20, 0xc1), hex('00')]);
    expect(() => decodeCbor(tags)).toThrow(/deeper than 16/);
    const many = encode(Array.from({ length: 200 }, () => 0));
    expect(() => decodeCbor(many, { maxItems: 100 })).toThrow(/more than 100 items/);
  });

  it('never throws anything but CborError on random and mutated input', () => {
    const valid = encode(
      new Tagged(18, [
        encode(new Map([[1, -37]])),
        new Map<Cbor, Cbor>([[33, [randomBytes(40)]]]),
        Buffer.from('{"a":1}'),
        randomBytes(64),
      ]),
    );
    const inputs: Buffer[] = [];
    for (let i = 0; i < 500; i++) inputs.push(randomBytes(1 + (i % 64)));
    for (let i = 0; i < valid.length; i++) inputs.push(valid.subarray(0, i));
    for (let i = 0; i < 500; i++) {
      const mutated = Buffer.from(valid);
      const at = i % mutated.length;
      mutated[at] = mutated[at]! ^ (1 << (i % 8));
      inputs.push(mutated);
    }
    let decoded = 0;
    for (const input of inputs) {
      try {
        decodeCbor(input);
        decoded++;
      } catch (err) {
        expect(err).toBeInstanceOf(CborError);
      }
    }
    // Most mutations break the structure; some (a flipped payload bit) still decode.
    expect(decoded).toBeGreaterThan(0);
    expect(decoded).toBeLessThan(inputs.length);
  });

  it('decodes what the independent test encoder writes, including raw heads', () => {
    const value = [new Tagged(1, 1700000000), 'x', Buffer.from([1]), -24, -25, 65536, true, null];
    expect(decodeCbor(encode(value))).toEqual([
      new CborTag(1, 1700000000),
      'x',
      Buffer.from([1]),
      -24,
      -25,
      65536,
      true,
      null,
    ]);
    expect(decodeCbor(encode([new Raw(encodeHead(0, 70000))]))).toEqual([70000]);
  });
});

describe('encodeHead', () => {
  it('writes the shortest form', () => {
    expect(encodeHead(2, 23)).toEqual(hex('57'));
    expect(encodeHead(2, 24)).toEqual(hex('5818'));
    expect(encodeHead(2, 256)).toEqual(hex('590100'));
    expect(encodeHead(4, 65536)).toEqual(hex('9a00010000'));
  });
});
