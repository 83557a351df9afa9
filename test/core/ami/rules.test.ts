import { describe, expect, it } from 'vitest';
import { decidePublication, defineConfig, globToRegExp, parameterNameFor, resolveFamily, trustedOwners, type FamilyHead, type ImageInfo } from '@opsauto/core';

const config = defineConfig({ amiPublisher: { namePatterns: [{ family: 'web', namePattern: 'web-*-x86' }, { family: 'any', namePattern: '*' }] } });

const image = (over: Partial<ImageInfo> = {}): ImageInfo => ({
  imageId: 'ami-b',
  region: 'us-east-1',
  name: 'web-1-x86',
  creationDate: '2026-11-02T00:00:00.000Z',
  state: 'available',
  tags: {},
  ownerId: '000000000000',
  ...over,
});

const head = (over: Partial<FamilyHead> = {}): FamilyHead => ({
  region: 'us-east-1',
  family: 'web',
  parameterName: '/opsauto/ami/web/latest',
  imageId: 'ami-a',
  creationDate: '2026-11-01T00:00:00.000Z',
  highWaterImageId: 'ami-a',
  highWaterCreationDate: '2026-11-01T00:00:00.000Z',
  status: 'published',
  kind: 'publish',
  updatedAt: '2026-11-01T00:00:00.000Z',
  version: 2,
  ...over,
});

describe('resolveFamily', () => {
  it('takes the family tag before any name pattern', () => {
    expect(resolveFamily(image({ tags: { 'opsauto:ami-family': 'db' } }), config)).toBe('db');
  });

  it('uses the first name pattern that matches when the image has no tag', () => {
    expect(resolveFamily(image({ name: 'web-7-x86' }), config)).toBe('web');
    expect(resolveFamily(image({ name: 'web-7-arm' }), config)).toBe('any');
  });

  it('finds no family when neither the tag nor a pattern applies', () => {
    expect(resolveFamily(image({ name: 'other' }), defineConfig({}))).toBeUndefined();
  });

  it('treats pattern characters other than * literally', () => {
    expect(globToRegExp('a.b*').test('a.b-1')).toBe(true);
    expect(globToRegExp('a.b*').test('axb-1')).toBe(false);
  });

  it('builds the parameter name from the configured path', () => {
    expect(parameterNameFor('web', config)).toBe('/opsauto/ami/web/latest');
  });
});

describe('decidePublication', () => {
  it('publishes the first image of a family', () => {
    expect(decidePublication(undefined, image())).toEqual({ action: 'publish', resume: false });
  });

  it('publishes an image newer than the newest ever published', () => {
    expect(decidePublication(head(), image())).toEqual({ action: 'publish', resume: false });
  });

  it('skips an image older than the published one whatever order events arrive in', () => {
    expect(decidePublication(head(), image({ creationDate: '2026-10-31T23:59:59.000Z' }))).toEqual({ action: 'skip', reason: 'older-than-published' });
  });

  it('skips an image that is not available (failed, pending, deregistered)', () => {
    for (const state of ['failed', 'pending', 'deregistered']) {
      expect(decidePublication(undefined, image({ state }))).toEqual({ action: 'skip', reason: 'not-available' });
    }
  });

  it('skips a duplicate event for the published image', () => {
    expect(decidePublication(head(), image({ imageId: 'ami-a', creationDate: '2026-11-01T00:00:00.000Z' }))).toEqual({ action: 'skip', reason: 'duplicate' });
  });

  it('resumes a claimed but unconfirmed publication of the same image', () => {
    expect(decidePublication(head({ status: 'pending' }), image({ imageId: 'ami-a' }))).toEqual({ action: 'publish', resume: true });
  });

  it('orders images created in the same second by image ID', () => {
    const same = '2026-11-01T00:00:00.000Z';
    expect(decidePublication(head({ creationDate: same }), image({ imageId: 'ami-b', creationDate: same })).action).toBe('publish');
    expect(decidePublication(head({ imageId: 'ami-c', highWaterImageId: 'ami-c' }), image({ imageId: 'ami-b', creationDate: same })).action).toBe('skip');
  });

  it('compares against the high-water mark, not the rolled-back head', () => {
    const rolledBack = head({ imageId: 'ami-0', creationDate: '2026-10-01T00:00:00.000Z', highWaterImageId: 'ami-z', highWaterCreationDate: '2026-11-05T00:00:00.000Z' });
    expect(decidePublication(rolledBack, image({ imageId: 'ami-z', creationDate: '2026-11-05T00:00:00.000Z' }))).toEqual({ action: 'skip', reason: 'older-than-published' });
  });
});

describe('trustedOwners', () => {
  it('trusts only the own account when amiPublisher.trustedOwners is not set', () => {
    expect(defineConfig({}).amiPublisher.trustedOwners).toEqual([]);
    expect(trustedOwners(defineConfig({}))).toEqual(['self']);
  });

  it('adds the configured accounts to the own account', () => {
    expect(trustedOwners(defineConfig({ amiPublisher: { trustedOwners: ['222222222222', '333333333333'] } }))).toEqual(['self', '222222222222', '333333333333']);
  });

  it('refuses an owner that is not a 12-digit account ID, naming the field', () => {
    for (const bad of ['amazon', 'self', '12345678901', '1234567890123', ' 222222222222']) {
      expect(() => defineConfig({ amiPublisher: { trustedOwners: [bad] } }), bad).toThrow(/amiPublisher\.trustedOwners\.0: must be a 12-digit AWS account ID/);
    }
  });
});
