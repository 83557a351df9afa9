import type { ServiceDefinition } from './types.js';

export const cloudformation: ServiceDefinition = {
  name: 'cloudformation',
  protocol: 'query',
  xmlns: 'http://cloudformation.amazonaws.com/doc/2010-05-15/',
  operations: {},
};
