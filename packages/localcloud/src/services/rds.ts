import type { ServiceDefinition } from './types.js';

export const rds: ServiceDefinition = {
  name: 'rds',
  protocol: 'query',
  xmlns: 'http://rds.amazonaws.com/doc/2014-10-31/',
  operations: {},
};
