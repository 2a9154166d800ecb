import { parseConfig } from './load.js';
import { policyWarnings } from './policy-warnings.js';

const SLSA = 'https://slsa.dev/provenance/v1';

describe('policyWarnings', () => {
  it('names attestation requirements an unsigned statement can meet, and only those', () => {
    const { policies } = parseConfig(
      {
        trust: {
          authorities: [
            { name: 'ci', keyless: { issuer: 'https://issuer.example', subject: 'https://ci.example/a' } },
          ],
        },
        policies: [
          { name: 'claims', attestations: [{ predicateType: SLSA, builderIds: ['https://ci.example/b'] }] },
          { name: 'anything', attestations: [{ predicateType: SLSA }] },
          { name: 'proven', attestations: [{ predicateType: SLSA, authorities: ['ci'] }] },
          { name: 'signed', signatures: { authorities: ['ci'] }, sbom: true },
        ],
      },
      {},
    );
    const warnings = policyWarnings(policies);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^policy claims: .* builderIds but no authorities/);
    expect(warnings[1]).toMatch(/^policy anything: .* neither builderIds nor authorities/);
  });
});
