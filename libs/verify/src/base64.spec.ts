import { decodeBase64, decodeBase64Url, decodePaddedBase64 } from './base64.js';

const bytes = Buffer.from([0xfb, 0xff, 0xfe, 0x01, 0x02]);

describe('decodeBase64 (protobuf JSON bytes, DSSE)', () => {
  it.each([
    ['standard, padded', bytes.toString('base64')],
    ['standard, unpadded', bytes.toString('base64').replace(/=+$/, '')],
    ['URL-safe, unpadded', bytes.toString('base64url')],
    ['URL-safe, padded', `${bytes.toString('base64url')}=`],
    ['wrapped in lines', `${bytes.toString('base64').slice(0, 4)}\r\n${bytes.toString('base64').slice(4)}\n`],
  ])('reads %s', (_name, text) => {
    expect(decodeBase64(text)).toEqual(bytes);
  });

  it.each([
    [
      'a character outside the alphabet',
      `${bytes.toString('base64').slice(0, 3)}*${bytes.toString('base64').slice(3)}`,
    ],
    ['a space', ` ${bytes.toString('base64')}`],
    ['both alphabets', '+/-_'],
    ['a length no encoding has', 'abcde'],
    ['padding where none is due', 'abcd='],
    ['too much padding', 'abc=='],
    ['padding inside', 'ab==cd'],
    ['not a string', 42],
  ])('refuses %s', (_name, value) => {
    expect(decodeBase64(value)).toBeUndefined();
  });
});

describe('the JWS forms', () => {
  it('x5c and timestamp tokens are standard padded base64', () => {
    expect(decodePaddedBase64(bytes.toString('base64'))).toEqual(bytes);
    expect(decodePaddedBase64(bytes.toString('base64').replace(/=+$/, ''))).toBeUndefined();
    expect(decodePaddedBase64(bytes.toString('base64url'))).toBeUndefined();
  });

  it('JWS parts are unpadded base64url', () => {
    expect(decodeBase64Url(bytes.toString('base64url'))).toEqual(bytes);
    expect(decodeBase64Url(`${bytes.toString('base64url')}=`)).toBeUndefined();
    expect(decodeBase64Url(bytes.toString('base64'))).toBeUndefined();
  });
});
