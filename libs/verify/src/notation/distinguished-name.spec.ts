import { dnAttributes, formatDn, isSubsetDn, parseDn } from './distinguished-name.js';

describe('distinguished names', () => {
  it('parses RDNs separated by commas or semicolons, trimming unescaped spaces', () => {
    expect(parseDn(' C=US ,ST=WA; O = Acme Rockets ')).toEqual([
      [{ type: 'C', value: 'US' }],
      [{ type: 'ST', value: 'WA' }],
      [{ type: 'O', value: 'Acme Rockets' }],
    ]);
  });

  it('decodes escapes: special characters, hex pairs (UTF-8), escaped edge spaces', () => {
    const dn = parseDn('O=Acme\\, Inc.\\;\\\\x, CN=caf\\c3\\a9, OU=\\ padded\\ ');
    expect(dnAttributes(dn)).toEqual(
      new Map([
        ['O', 'Acme, Inc.;\\x'],
        ['CN', 'café'],
        ['OU', ' padded '],
      ]),
    );
  });

  it('keeps multi-valued RDNs together and upper-cases attribute types', () => {
    expect(parseDn('cn=a+ou=b, c=US')).toEqual([
      [
        { type: 'CN', value: 'a' },
        { type: 'OU', value: 'b' },
      ],
      [{ type: 'C', value: 'US' }],
    ]);
  });

  it.each(['C', 'C=', 'C=US,', '=US', 'C=#0403', 'C=US\\'])('rejects %j', (text) => {
    expect(() => parseDn(text)).toThrow();
  });

  it('rejects duplicate attribute types when flattening', () => {
    expect(() => dnAttributes(parseDn('OU=a, OU=b'))).toThrow(/more than once/);
  });

  it('formats with RFC 4514 escaping so that the output parses back', () => {
    const dn = [[{ type: 'O', value: 'A, B+C' }], [{ type: 'CN', value: ' x ' }]];
    const text = formatDn(dn);
    expect(text).toBe('O=A\\, B\\+C, CN=\\ x\\ ');
    expect(parseDn(text)).toEqual(dn);
  });

  it('matches a trusted identity as a subset of the subject, regardless of order', () => {
    const subject = dnAttributes(parseDn('C=US, ST=WA, L=Seattle, O=Notary, CN=e2e'));
    expect(isSubsetDn(dnAttributes(parseDn('CN=e2e,O=Notary,ST=WA,C=US')), subject)).toBe(true);
    expect(isSubsetDn(dnAttributes(parseDn('C=US, ST=WA, O=Notary, OU=x')), subject)).toBe(false);
    expect(isSubsetDn(dnAttributes(parseDn('C=US, ST=wa, O=Notary')), subject)).toBe(false);
  });
});
