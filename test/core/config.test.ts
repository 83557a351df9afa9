import { describe, expect, it } from 'vitest';
import { amiParameterPrefix, ConfigError, defineConfig } from '@opsauto/core';

describe('defineConfig', () => {
  it('fills every default when given nothing', () => {
    const config = defineConfig({});
    expect(config.regions).toEqual(['us-east-1']);
    expect(config.amiPublisher.parameterPath).toBe('/opsauto/ami/{family}/latest');
    expect(config.amiPublisher.familyTag).toBe('opsauto:ami-family');
  });

  it('names every invalid field at once when several are wrong', () => {
    const act = () => defineConfig({ regions: ['mars-1'], amiPublisher: { parameterPath: 'relative/{family}' } });
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(/regions\.0: must be an AWS region name/);
    expect(act).toThrow(/amiPublisher\.parameterPath: must be an absolute parameter path/);
  });

  it('rejects a parameter path without the {family} placeholder', () => {
    expect(() => defineConfig({ amiPublisher: { parameterPath: '/opsauto/ami/latest' } })).toThrow(/must contain \{family\}/);
  });

  it('keeps ended runbook executions 90 days when given nothing, and names runbooks.executionTtlDays when it is out of range', () => {
    // Act
    const config = defineConfig({});
    const tooLong = () => defineConfig({ runbooks: { executionTtlDays: 3651 } });
    // Assess
    expect(config.runbooks.executionTtlDays).toBe(90);
    expect(defineConfig({ runbooks: { executionTtlDays: 7 } }).runbooks.executionTtlDays).toBe(7);
    expect(tooLong).toThrow(/runbooks\.executionTtlDays: /);
    expect(() => defineConfig({ runbooks: { executionTtlDays: 0 } })).toThrow(/runbooks\.executionTtlDays: /);
  });

  it('derives the IAM prefix from the literal part of the parameter path', () => {
    expect(amiParameterPrefix(defineConfig({ amiPublisher: { parameterPath: '/golden/{family}/id' } }))).toBe('/golden/');
  });
});
