import { defineConfig } from '@opsauto/core';

// The operator's settings. Every field is optional; see packages/core/src/config.ts for defaults and rules.
export default defineConfig({
  regions: ['us-east-1'],
  amiPublisher: {
    parameterPath: '/opsauto/ami/{family}/latest',
    familyTag: 'opsauto:ami-family',
    namePatterns: [{ family: 'demo-base', namePattern: 'demo-base-*' }],
  },
});
