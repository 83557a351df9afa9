import { describe, expect, it } from 'vitest';
import { runbookImageCreatedEvent } from '../../../packages/core/src/events/eventbridge.js';
import type { Execution, StepExecution } from '../../../packages/core/src/runbooks/execution.js';
import {
  runbookExecutionStatusEntry,
  runbookImageCreatedEntries,
  runbookStatusEntries,
  runbookStepStatusEntry,
} from '../../../packages/core/src/runbooks/status-events.js';
import { fixture } from '../../helpers/fixtures.js';

// AWS's events: https://docs.aws.amazon.com/systems-manager/latest/userguide/monitoring-systems-manager-event-examples.html
// (test/fixtures/events/awsdocs-ssm__automation-*.json, see test/fixtures/SOURCES.md)

function execution(overrides: Partial<Execution> = {}): Execution {
  return {
    executionId: '333ba70b-2333-48db-b17e-a5e69c6f4d1c',
    documentName: 'AWS-CreateImage',
    documentVersion: '1',
    runbook: { schemaVersion: '0.3', parameters: {}, mainSteps: [], outputs: [], warnings: [] },
    parameters: {},
    status: 'Success',
    accountId: '123456789012',
    region: 'us-east-2',
    createdAt: '2016-11-29T19:43:19.000Z',
    startedAt: '2016-11-29T19:43:20.000Z',
    endedAt: '2016-11-29T19:43:26.000Z',
    steps: [],
    triggeredBy: 'cli',
    version: 3,
    ...overrides,
  };
}

const createImageStep = (imageId: string, status: StepExecution['status'] = 'Success'): StepExecution => ({
  name: 'createImage',
  action: 'aws:createImage',
  status,
  attempt: 1,
  startedAt: '2016-11-29T19:43:21.000Z',
  endedAt: '2016-11-29T19:43:25.000Z',
  outputs: { ImageId: imageId, ImageState: 'available' },
});

describe('runbookExecutionStatusEntry', () => {
  it('carries every detail field of AWS execution status event when the execution has ended', () => {
    // Prepare
    const aws = fixture('events/awsdocs-ssm__automation-execution-status-change.json');
    // Act
    const entry = runbookExecutionStatusEntry(execution());
    // Assess
    expect(Object.keys(entry.Detail)).toEqual(expect.arrayContaining(Object.keys(aws.detail)));
    for (const field of Object.keys(aws.detail)) expect(typeof entry.Detail[field as keyof typeof entry.Detail], field).toBe(typeof aws.detail[field]);
  });

  it('names our source and detail-type rather than AWS ones when built', () => {
    // Prepare
    const aws = fixture('events/awsdocs-ssm__automation-execution-status-change.json');
    // Act
    const entry = runbookExecutionStatusEntry(execution());
    // Assess
    expect(aws.source).toBe('aws.ssm');
    expect([entry.Source, entry.DetailType]).toEqual(['opsauto.runbooks', 'Runbook Execution Status-change Notification']);
  });

  it('reports the run time in milliseconds as AWS Time does when start and end are known', () => {
    // Act
    const { Detail } = runbookExecutionStatusEntry(execution());
    // Assess
    expect(Detail).toMatchObject({
      ExecutionId: '333ba70b-2333-48db-b17e-a5e69c6f4d1c',
      Definition: 'AWS-CreateImage',
      DefinitionVersion: 1,
      Status: 'Success',
      StartTime: '2016-11-29T19:43:20.000Z',
      EndTime: '2016-11-29T19:43:26.000Z',
      Time: 6000,
      ExecutedBy: 'cli',
      Region: 'us-east-2',
      Account: '123456789012',
    });
  });

  it('leaves out EndTime and Time when the execution is still running', () => {
    // Act
    const { Detail } = runbookExecutionStatusEntry(execution({ status: 'InProgress', endedAt: undefined }));
    // Assess
    expect(Detail).not.toHaveProperty('EndTime');
    expect(Detail).not.toHaveProperty('Time');
    expect(Detail.Status).toBe('InProgress');
  });

  it('keeps a version that is not a number as text when it is $DEFAULT, and none when there is none', () => {
    // Act
    const named = runbookExecutionStatusEntry(execution({ documentVersion: '$DEFAULT' })).Detail;
    const none = runbookExecutionStatusEntry(execution({ documentVersion: undefined })).Detail;
    // Assess
    expect(named.DefinitionVersion).toBe('$DEFAULT');
    expect(none).not.toHaveProperty('DefinitionVersion');
  });

  it('carries outputs, failure, parent and target when the execution has them', () => {
    // Prepare
    const child = execution({
      status: 'Failed',
      outputs: { 'createImage.ImageId': ['ami-0abc1234'] },
      failureMessage: 'Step createImage failed',
      parentExecutionId: 'parent-1',
      target: 'i-1234abcd',
    });
    // Act
    const { Detail } = runbookExecutionStatusEntry(child);
    // Assess
    expect(Detail).toMatchObject({
      Status: 'Failed',
      Outputs: { 'createImage.ImageId': ['ami-0abc1234'] },
      FailureMessage: 'Step createImage failed',
      ParentExecutionId: 'parent-1',
      Target: 'i-1234abcd',
    });
  });
});

describe('runbookStepStatusEntry', () => {
  it('carries every detail field of AWS step status event when the step has ended', () => {
    // Prepare
    const aws = fixture('events/awsdocs-ssm__automation-step-status-change.json');
    // Act
    const entry = runbookStepStatusEntry(execution(), createImageStep('ami-0abc1234'));
    // Assess
    expect(Object.keys(entry.Detail)).toEqual(expect.arrayContaining(Object.keys(aws.detail)));
    for (const field of Object.keys(aws.detail)) expect(typeof entry.Detail[field as keyof typeof entry.Detail], field).toBe(typeof aws.detail[field]);
  });

  it('describes the step, not the execution, when built for a step', () => {
    // Act
    const entry = runbookStepStatusEntry(execution(), { ...createImageStep('ami-0abc1234', 'Failed'), failureMessage: 'instance not found' });
    // Assess
    expect(entry.DetailType).toBe('Runbook Step Status-change Notification');
    expect(entry.Detail).toMatchObject({
      StepName: 'createImage',
      Action: 'aws:createImage',
      Status: 'Failed',
      StartTime: '2016-11-29T19:43:21.000Z',
      EndTime: '2016-11-29T19:43:25.000Z',
      Time: 4000,
      FailureMessage: 'instance not found',
    });
    expect(entry.Detail).not.toHaveProperty('ExecutedBy');
  });
});

describe('runbookImageCreatedEntries', () => {
  it('announces the image of a successful aws:createImage step in the AMI publisher schema when the runbook declares no outputs', () => {
    // Prepare: AWS-CreateImage declares no outputs; its createImage step outputs ImageId
    const envelope = fixture('events/awsdocs-ssm__automation-execution-status-change.json');
    // Act
    const entries = runbookImageCreatedEntries(execution({ steps: [createImageStep('ami-0abc1234')] }));
    // Assess
    expect(entries).toHaveLength(1);
    const [entry] = entries;
    const event = runbookImageCreatedEvent.parse({ ...envelope, source: entry?.Source, 'detail-type': entry?.DetailType, detail: entry?.Detail });
    expect(event.detail).toEqual({ ImageId: 'ami-0abc1234', Region: 'us-east-2', ExecutionId: '333ba70b-2333-48db-b17e-a5e69c6f4d1c' });
  });

  it('announces images named by an ImageId output when the runbook declares one', () => {
    // Act
    const entries = runbookImageCreatedEntries(execution({ outputs: { 'copyImage.ImageId': ['ami-0def5678'], 'copyImage.State': 'ok' } }));
    // Assess
    expect(entries.map((e) => e.Detail.ImageId)).toEqual(['ami-0def5678']);
  });

  it('announces an image once when a step and an output both name it', () => {
    // Act
    const entries = runbookImageCreatedEntries(execution({ steps: [createImageStep('ami-0abc1234')], outputs: { 'createImage.ImageId': ['ami-0abc1234'] } }));
    // Assess
    expect(entries).toHaveLength(1);
  });

  it('announces nothing when the execution did not succeed', () => {
    // Act
    const entries = runbookImageCreatedEntries(execution({ status: 'Failed', steps: [createImageStep('ami-0abc1234')] }));
    // Assess
    expect(entries).toEqual([]);
  });

  it('leaves out an image when a later aws:deleteImage step of the run deleted it', () => {
    // Prepare
    const scratch: StepExecution = { name: 'deleteScratch', action: 'aws:deleteImage', status: 'Success', attempt: 1, inputs: { ImageId: 'ami-0abc1234' } };
    // Act
    const entries = runbookImageCreatedEntries(execution({ steps: [createImageStep('ami-0abc1234'), scratch] }));
    // Assess
    expect(entries).toEqual([]);
  });

  it('ignores outputs that are not AMI IDs when an ImageId output holds something else', () => {
    // Act
    const entries = runbookImageCreatedEntries(execution({ outputs: { 'build.ImageId': 'No output available yet because the step is not successfully executed' } }));
    // Assess
    expect(entries).toEqual([]);
  });
});

describe('runbookStatusEntries', () => {
  it('lists the steps then the execution and its images when the execution changed', () => {
    // Prepare
    const step = createImageStep('ami-0abc1234');
    // Act
    const entries = runbookStatusEntries(execution({ steps: [step] }), [step], true);
    // Assess
    expect(entries.map((e) => e.DetailType)).toEqual(['Runbook Step Status-change Notification', 'Runbook Execution Status-change Notification', 'Runbook Image Created']);
  });

  it('lists only the steps when the execution status did not change', () => {
    // Prepare
    const step = createImageStep('ami-0abc1234');
    // Act
    const entries = runbookStatusEntries(execution({ status: 'InProgress', steps: [step] }), [step], false);
    // Assess
    expect(entries.map((e) => e.DetailType)).toEqual(['Runbook Step Status-change Notification']);
  });
});
