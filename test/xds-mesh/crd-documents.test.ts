// The documents a user applies as custom resources (sidecast.io/v1alpha1, kind MeshService) load
// from mesh files too, into the same model as the older sidecast.io/v1 spelling.
import { describe, expect, it } from '@jest/globals';
import { MeshConfigError, parseMesh } from '../../xds-server/mesh/index.js';

const mesh = (apiVersion: string, serviceKind: string, endpoints = 'endpoints: ["10.0.0.5:8080"]') => `
apiVersion: ${apiVersion}
kind: ${serviceKind}
metadata: { name: accounts, namespace: bank, labels: { app: accounts } }
spec: { ${endpoints} }
---
apiVersion: ${apiVersion}
kind: EventRoute
metadata: { name: account-opened }
spec:
  service: accounts
  match: { method: POST, path: /accounts, status: [201] }
  event: { type: acme.bank.account.opened.v1, topic: acme/bank/account/opened/v1 }
`;

describe('CR-shaped documents in the file source', () => {
  it('sidecast.io/v1alpha1 with kind MeshService gives the same model as sidecast.io/v1 Service', () => {
    const crShaped = parseMesh([{ file: 'a.yaml', text: mesh('sidecast.io/v1alpha1', 'MeshService') }]);
    const v1 = parseMesh([{ file: 'a.yaml', text: mesh('sidecast.io/v1', 'Service') }]);
    expect(crShaped).toEqual(v1);
    expect(crShaped.services.map((s) => s.name)).toEqual(['accounts']);
  });

  it('a file Service still needs endpoints (EndpointSlices stand in only on Kubernetes)', () => {
    expect(() =>
      parseMesh([{ file: 'a.yaml', text: mesh('sidecast.io/v1alpha1', 'MeshService', 'calls: []') }]),
    ).toThrow(MeshConfigError);
    try {
      parseMesh([{ file: 'a.yaml', text: mesh('sidecast.io/v1alpha1', 'MeshService', 'calls: []') }]);
    } catch (e) {
      expect((e as MeshConfigError).issues).toEqual([
        expect.objectContaining({
          file: 'a.yaml',
          document: 1,
          kind: 'Service',
          name: 'accounts',
          field: 'spec.endpoints',
          message: 'is required',
          line: 5,
        }),
      ]);
    }
  });
});
