import type { ServiceDefinition } from './types.js';

export const sns: ServiceDefinition = {
  name: 'sns',
  protocol: 'query',
  xmlns: 'http://sns.amazonaws.com/doc/2010-03-31/',
  operations: {},
};
