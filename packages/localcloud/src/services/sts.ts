import type { ServiceDefinition } from './types.js';

export const sts: ServiceDefinition = {
  name: 'sts',
  protocol: 'query',
  xmlns: 'https://sts.amazonaws.com/doc/2011-06-15/',
  operations: {
    GetCallerIdentity: (_input, ctx) => ({
      Account: ctx.account,
      Arn: `arn:aws:iam::${ctx.account}:root`,
      UserId: ctx.account,
    }),
  },
};
