import { defineConfig } from '@opsauto/core';

// The operator's settings. Every field is optional; see packages/core/src/config.ts for defaults and rules, and
// docs/automations.md for the automations.
export default defineConfig({
  regions: ['us-east-1'],
  amiPublisher: {
    parameterPath: '/opsauto/ami/{family}/latest',
    familyTag: 'opsauto:ami-family',
    namePatterns: [{ family: 'demo-base', namePattern: 'demo-base-*' }],
  },
  automations: [
    {
      name: 'qa-office-hours',
      description: 'EC2 and RDS tagged opsauto:schedule=qa-office-hours run 09:00-17:00 Monday to Friday, Seoul time',
      officeHours: { period: { days: 'MON-FRI', start: '09:00', stop: '17:00', timezone: 'Asia/Seoul' }, enforce: true },
      trigger: { schedule: 'cron(0/5 * * * ? *)', timezone: 'Asia/Seoul' },
    },
    {
      name: 'nightly-resize',
      description: 'Instances tagged opsauto:night-type=<type> take that type 22:00-07:00 Seoul time',
      nightResize: { window: { days: '*', start: '22:00', stop: '07:00', timezone: 'Asia/Seoul' } },
      trigger: { schedule: 'cron(0 7,22 * * ? *)', timezone: 'Asia/Seoul' },
    },
    {
      name: 'weekly-golden-ami',
      description: 'Every Sunday 03:00 UTC: an image of each builder instance, tagged with its family (published by the AMI publisher); 4 kept per family',
      runbook: 'opsauto-GoldenImage',
      parameters: { Retain: 4 },
      targets: { parameter: 'InstanceId', tagKeys: ['opsauto:golden-builder'] },
      maxConcurrency: '2',
      maxErrors: '1',
      trigger: { schedule: 'cron(0 3 ? * SUN *)', timezone: 'UTC' },
    },
    {
      name: 's3-versioning-remediation',
      description: 'A bucket that Config rule s3-bucket-versioning-enabled finds NON_COMPLIANT gets versioning enabled',
      runbook: 'AWS-ConfigureS3BucketVersioning',
      parameters: { BucketName: '{{ event.detail.resourceId }}', VersioningState: 'Enabled' },
      trigger: { configRules: ['s3-bucket-versioning-enabled'] },
    },
    {
      name: 'stale-volume-remediation',
      description: 'A stale-volume OpsItem set to InProgress (or opsauto volumes remediate --snapshot): snapshot the volume, delete it, resolve the item',
      runbook: 'opsauto-SnapshotThenDeleteVolume',
      parameters: { VolumeId: '{{ event.opsItem.resourceId }}' },
      trigger: { opsItems: { source: 'opsauto' } },
    },
    {
      name: 'stale-volume-delete',
      description: 'opsauto volumes remediate <volume> without --snapshot: delete the volume, resolve its OpsItem (run by hand only)',
      runbook: 'opsauto-DeleteVolume',
      parameters: { VolumeId: '{{ event.opsItem.resourceId }}' },
      enabled: false,
      trigger: { opsItems: { source: 'opsauto' } },
    },
    {
      name: 'patch-window',
      description: 'Tuesday 02:00-04:00 Asia/Seoul: AWS-RunPatchBaseline Install on nodes tagged Patch Group=qa, 20% at a time, none started in the last 30 minutes',
      runbook: 'opsauto-PatchInstance',
      parameters: { Operation: 'Install' },
      targets: { parameter: 'InstanceId', tags: { 'Patch Group': 'qa' }, managedNodes: true },
      maxConcurrency: '20%',
      maxErrors: '10%',
      trigger: { maintenanceWindow: { schedule: 'cron(0 2 ? * TUE *)', timezone: 'Asia/Seoul', duration: '2h', cutoff: '30m' } },
    },
  ],
});
