export { startLocalcloud, CLOCK_OFFSET_ENV, type Localcloud, type LocalcloudOptions } from './localcloud.js';
export { parseDuration, VirtualClock } from './clock.js';
export type { FunctionRegistration, LambdaHandler, LambdaContext, InvocationRecord } from './lambda.js';
export type { RuleRegistration, BusEvent } from './bus.js';
export type { FaultRule } from './faults.js';
export { DEFAULT_ACCOUNT, DEFAULT_REGION } from './server.js';
export type { RouteRegistration } from './http-api.js';
export type { ScheduleRegistration, ScheduleListing } from './scheduler.js';
export { SeedError, type Fleet } from './seed.js';
