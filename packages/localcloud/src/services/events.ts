import { AwsError } from '../errors.js';
import type { ServiceDefinition } from './types.js';

interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  Resources?: string[];
  Time?: number;
  EventBusName?: string;
}

export const events: ServiceDefinition = {
  name: 'events',
  protocol: 'json',
  targetPrefix: 'AWSEvents',
  operations: {
    PutEvents: (input: { Entries?: PutEventsEntry[] }, ctx) => {
      const entries = input.Entries ?? [];
      if (entries.length < 1 || entries.length > 10) {
        throw new AwsError('ValidationException', `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and 10`);
      }
      let failed = 0;
      const results = entries.map((e) => {
        if (!e.Source || !e.DetailType || e.Detail === undefined) {
          failed++;
          return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Source, DetailType and Detail are required.' };
        }
        let detail: unknown;
        try {
          detail = JSON.parse(e.Detail);
        } catch {
          failed++;
          return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
        }
        if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
          failed++;
          return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail must be a JSON object.' };
        }
        const event = ctx.bus.publish({
          source: e.Source,
          detailType: e.DetailType,
          detail,
          resources: e.Resources,
          account: ctx.account,
          region: ctx.region,
          time: e.Time ? new Date(e.Time * 1000) : undefined,
        });
        return { EventId: event.id };
      });
      return { FailedEntryCount: failed, Entries: results };
    },
  },
};
