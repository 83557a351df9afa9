import type { ServiceDefinition } from './types.js';

export const s3: ServiceDefinition = {
  name: 's3',
  protocol: 'rest-xml',
  xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/',
  operations: {},
};
