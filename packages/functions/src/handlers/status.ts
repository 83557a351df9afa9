import { DynamoPublicationStore } from '@opsauto/aws';
import { clients } from '../clients.js';
import { requireEnv } from '../config.js';
import { httpHandler, json } from '../handler.js';


/** GET /status: the image each AMI family publishes now, per region, with any warning. */
export const handler = httpHandler(async () => {
  const heads = await new DynamoPublicationStore(clients, requireEnv('TABLE_NAME')).listHeads();
  const families = heads
    .map((h) => ({ family: h.family, region: h.region, imageId: h.imageId, parameterName: h.parameterName, parameterVersion: h.parameterVersion, status: h.status, kind: h.kind, updatedAt: h.updatedAt, ...(h.warning ? { warning: h.warning } : {}) }))
    .sort((a, b) => a.family.localeCompare(b.family) || a.region.localeCompare(b.region));
  return json(200, { amiFamilies: families });
});
