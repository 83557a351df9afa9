import { AwsClients } from '@opsauto/aws';

/** The SDK clients of a function's container, in its own region; reused across invocations. */
export const clients = new AwsClients(process.env.AWS_REGION ?? 'us-east-1');
