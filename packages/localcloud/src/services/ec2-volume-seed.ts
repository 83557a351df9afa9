/**
 * Volumes put straight into the store, without events: `seedVolumes` for a fleet file (volumes with their
 * attachment histories, "created a year ago, detached yesterday"), and `generateVolumes` for benchmarks and
 * large seeds (100,000 volumes in well under a second).
 */
import type { Store } from '../store.js';
import { newInstance } from './ec2-instances.js';
import { normalizeSeedTags } from './ec2-images.js';
import { checkInstanceId, ec2State, isoTime, storeNow, type AttachmentPeriod, type Ec2State, type VolumeRecord, type VolumeType } from './ec2-model.js';
import { putVolume } from './ec2-volume-index.js';
import { checkAvailabilityZone, checkVolumeSize, checkVolumeType, devicesInUse, volumePerformance } from './ec2-volumes.js';
import { randomIds, type Tag } from './filters.js';
import { mulberry32 } from '../random.js';

export interface VolumeSeed {
  /** GiB; default 8. */
  size?: number;
  /** Default gp2, CreateVolume's default. */
  type?: VolumeType;
  /** Default: the zone of the instance it is attached to, else the region's first zone (`us-east-1a`). */
  availabilityZone?: string;
  tags?: Record<string, string> | Tag[];
  /** ISO-8601; default now (virtual). */
  createTime?: string;
  /** An instance of this region (seed it first): the volume is attached to it now. */
  attachedTo?: string;
  /** The device of that attachment; default the instance's first free one from /dev/sdf. */
  device?: string;
  /**
   * Earlier attachments, oldest first, each closed by `detachedAt`. A last entry without `detachedAt` is the
   * current attachment (then `attachedTo`, if given, must name the same instance).
   */
  history?: { instanceId: string; attachedAt: string; detachedAt?: string; device?: string }[];
}

/**
 * Puts volumes into a region as a fleet file describes them; returns their ids in the order given. Throws a
 * RangeError naming the volume (by its position) for anything a fleet file could get wrong.
 *
 * @example
 * ```ts
 * const day = 86_400_000;
 * seedVolumes(store, '000000000000', 'us-east-1', now, [
 *   { size: 100, type: 'gp3', createTime: new Date(now - 365 * day).toISOString(),
 *     history: [{ instanceId: 'i-0123456789abcdef0', attachedAt: new Date(now - 365 * day).toISOString(), detachedAt: new Date(now - day).toISOString() }] },
 * ]);
 * ```
 */
export function seedVolumes(store: Store, account: string, region: string, now: number, specs: VolumeSeed[]): string[] {
  const state = ec2State(store, account, region);
  const ids = randomIds('vol-', specs.length);
  return specs.map((spec, i) => {
    const volume = seededVolume(state, region, now, spec, ids[i], (message) => new RangeError(`volume ${i + 1}: ${message}`));
    putVolume(state, volume);
    return volume.volumeId;
  });
}

function seededVolume(state: Ec2State, region: string, now: number, spec: VolumeSeed, volumeId: string, fail: (message: string) => Error): VolumeRecord {
  const type = spec.type ?? 'gp2';
  const size = spec.size ?? 8;
  const checked = <T>(check: () => T): T => {
    try {
      return check();
    } catch (e) {
      throw fail((e as Error).message);
    }
  };
  checked(() => checkVolumeType(type));
  checked(() => checkVolumeSize(type, size));
  const created = spec.createTime === undefined ? now : time(spec.createTime, 'createTime', fail);

  const history: AttachmentPeriod[] = [];
  for (const [n, period] of (spec.history ?? []).entries()) {
    checked(() => checkInstanceId(period.instanceId));
    const attachedAt = time(period.attachedAt, `history[${n}].attachedAt`, fail);
    const previous = history[history.length - 1];
    if (previous && previous.detachedAt === undefined) throw fail(`history[${n - 1}] has no detachedAt but is not the last attachment`);
    if (attachedAt < (previous ? Date.parse(previous.detachedAt!) : created)) {
      throw fail(`history[${n}].attachedAt is before ${previous ? 'the previous detachedAt' : 'the createTime'}`);
    }
    const detachedAt = period.detachedAt === undefined ? undefined : time(period.detachedAt, `history[${n}].detachedAt`, fail);
    if (detachedAt !== undefined && detachedAt < attachedAt) throw fail(`history[${n}].detachedAt is before its attachedAt`);
    history.push({
      instanceId: period.instanceId,
      ...(period.device ? { device: period.device } : {}),
      attachedAt: isoTime(attachedAt),
      ...(detachedAt !== undefined ? { detachedAt: isoTime(detachedAt) } : {}),
    });
  }

  const open = history.length > 0 && history[history.length - 1].detachedAt === undefined ? history[history.length - 1] : undefined;
  if (open && spec.attachedTo !== undefined && spec.attachedTo !== open.instanceId) {
    throw fail(`attachedTo ${spec.attachedTo} disagrees with the open history entry (${open.instanceId})`);
  }
  const instanceId = spec.attachedTo ?? open?.instanceId;
  const instance = instanceId === undefined ? undefined : state.instances[instanceId];
  if (instanceId !== undefined && !instance) throw fail(`attachedTo ${instanceId} is not an instance of this region (seed instances first)`);
  const zone = spec.availabilityZone ?? instance?.availabilityZone ?? `${region}a`;
  checked(() => checkAvailabilityZone(region, zone));
  if (instance && instance.availabilityZone !== zone) throw fail(`its zone ${zone} is not the zone of instance ${instance.instanceId} (${instance.availabilityZone})`);

  let attachment: VolumeRecord['attachment'];
  if (instance) {
    const taken = devicesInUse(state, instance);
    const device = spec.device ?? open?.device ?? freeDevice(taken);
    if (taken.has(device)) throw fail(`device ${device} is already in use on ${instance.instanceId}`);
    // Attached since the open entry says, else since it was created or last detached.
    const since = open ? open.attachedAt : isoTime(Math.max(created, ...history.map((h) => Date.parse(h.detachedAt!))));
    if (open) open.device = device;
    else history.push({ instanceId: instance.instanceId, device, attachedAt: since });
    attachment = { instanceId: instance.instanceId, device, state: 'attached', attachTime: since, deleteOnTermination: false };
  }
  return {
    volumeId,
    size,
    volumeType: type,
    ...volumePerformance(type, size),
    availabilityZone: zone,
    encrypted: false,
    state: attachment ? 'in-use' : 'available',
    createTime: isoTime(created),
    ...(attachment ? { attachment } : {}),
    attachmentHistory: history,
    tags: normalizeSeedTags(spec.tags),
  };
}

function time(text: string, field: string, fail: (message: string) => Error): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw fail(`${field} ${text} is not an ISO-8601 time`);
  return ms;
}

const DEVICES = [...'fghijklmnop'].map((c) => `/dev/sd${c}`);

function freeDevice(taken: Set<string>): string {
  const device = DEVICES.find((d) => !taken.has(d));
  if (!device) throw new RangeError('no free device name left (/dev/sdf to /dev/sdp)');
  return device;
}

export interface GenerateVolumesOptions {
  /** Share of the volumes that are attached (in-use); the rest are available. Default 0.5. */
  inUseShare?: number;
  /** Attached volumes per generated instance, its root volume included (1 to 12). Default 4. */
  volumesPerInstance?: number;
  /** Creation times spread over this many days before now. Default 730. */
  maxAgeDays?: number;
  /** Share of the available volumes that were attached before (with a closed history entry). Default 0.6. */
  previouslyAttachedShare?: number;
  /** Virtual now. Default: the store's clock. */
  now?: number;
  /** Seed of the pseudo-random choices (types, sizes, tags, times), so runs are comparable. Default 1. */
  seed?: number;
}

const TYPE_WEIGHTS: [VolumeType, number][] = [
  ['gp3', 50],
  ['gp2', 30],
  ['io1', 4],
  ['io2', 4],
  ['st1', 6],
  ['sc1', 4],
  ['standard', 2],
];
const ENVS = ['prod', 'staging', 'dev'];
const DAY_MS = 86_400_000;

/**
 * Generates `count` volumes in one region, fast (for benchmarks and seeds at size): a mix of types, sizes,
 * zones (a, b, c), tags (`Name`, `Env`, `Team`) and creation times over the last two years. In-use volumes
 * are attached to running instances made for them (each with its root volume among them), so that
 * DescribeInstances agrees; some available volumes have an earlier, closed attachment in their history.
 *
 * @example
 * ```ts
 * const { volumeIds } = generateVolumes(cloud.store, '000000000000', 'us-east-1', 100_000, { inUseShare: 0.4 });
 * ```
 */
export function generateVolumes(
  store: Store,
  account: string,
  region: string,
  count: number,
  opts: GenerateVolumesOptions = {},
): { volumeIds: string[]; instanceIds: string[] } {
  const inUseShare = opts.inUseShare ?? 0.5;
  const perInstance = opts.volumesPerInstance ?? 4;
  if (!(inUseShare >= 0 && inUseShare <= 1)) throw new RangeError('inUseShare must be between 0 and 1');
  if (!(Number.isInteger(perInstance) && perInstance >= 1 && perInstance <= 12)) throw new RangeError('volumesPerInstance must be an integer from 1 to 12');
  const now = opts.now ?? storeNow(store);
  const maxAge = (opts.maxAgeDays ?? 730) * DAY_MS;
  const previouslyAttached = opts.previouslyAttachedShare ?? 0.6;
  const random = mulberry32(opts.seed ?? 1);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
  const state = ec2State(store, account, region);
  const ids = randomIds('vol-', count);
  const inUse = Math.round(count * inUseShare);
  const volumeIds: string[] = [];
  const instanceIds: string[] = [];

  const volumeAt = (i: number, created: number, zone: string, type: VolumeType, size: number): VolumeRecord => ({
    volumeId: ids[i],
    size,
    volumeType: type,
    ...volumePerformance(type, size, type === 'io1' || type === 'io2' ? Math.min(3_000, size * 50) : undefined),
    availabilityZone: zone,
    encrypted: random() < 0.5,
    state: 'available',
    createTime: isoTime(created),
    attachmentHistory: [],
    tags: [
      { Key: 'Name', Value: `generated-${i}` },
      { Key: 'Env', Value: pick(ENVS) },
      { Key: 'Team', Value: `team-${Math.floor(random() * 20)}` },
    ],
  });
  const randomType = (): VolumeType => {
    let n = random() * 100;
    for (const [type, weight] of TYPE_WEIGHTS) if ((n -= weight) < 0) return type;
    return 'gp3';
  };
  const randomSize = (type: VolumeType) => {
    const [min, max] = type === 'st1' || type === 'sc1' ? [125, 2_000] : type === 'io1' || type === 'io2' ? [4, 1_000] : [1, 1_000];
    return min + Math.floor(random() * (max - min + 1));
  };

  // In-use volumes, a group per instance: the first is the instance's root volume. Ids come in bulk (one call
  // for randomness each) and instances share a subnet per zone, as a real fleet's do.
  const instanceCount = Math.ceil(inUse / perInstance);
  const [newInstanceIds, reservationIds] = [randomIds('i-', instanceCount), randomIds('r-', instanceCount)];
  const subnetIds = randomIds('subnet-', 3);
  const subnets = new Map(['a', 'b', 'c'].map((z, n) => [`${region}${z}`, subnetIds[n]]));
  const image = randomIds('ami-', 1)[0];
  for (let n = 0, first = 0; first < inUse; n++, first += perInstance) {
    const zone = `${region}${pick(['a', 'b', 'c'])}`;
    const launched = now - Math.floor(random() * maxAge);
    const instance = newInstance(state, region, undefined, launched, {
      instanceId: newInstanceIds[n],
      imageId: image,
      reservationId: reservationIds[n],
      subnetId: subnets.get(zone)!,
      availabilityZone: zone,
      volumeId: ids[first],
      instanceType: pick(['t3.micro', 'm5.large', 'r6g.xlarge']),
    });
    state.instances[instance.instanceId] = instance;
    instanceIds.push(instance.instanceId);
    for (let i = first; i < Math.min(first + perInstance, inUse); i++) {
      const root = i === first;
      const created = root ? launched : launched + Math.floor(random() * (now - launched));
      const type = root ? 'gp3' : randomType();
      const volume = volumeAt(i, created, zone, type, root ? 8 + Math.floor(random() * 93) : randomSize(type));
      const device = root ? '/dev/xvda' : DEVICES[i - first - 1];
      volume.state = 'in-use';
      volume.attachment = { instanceId: instance.instanceId, device, state: 'attached', attachTime: volume.createTime, deleteOnTermination: root };
      volume.attachmentHistory.push({ instanceId: instance.instanceId, device, attachedAt: volume.createTime });
      putVolume(state, volume);
      volumeIds.push(volume.volumeId);
    }
  }
  // Available volumes; some were attached to an instance (long gone) until a while ago.
  const goneInstances = randomIds('i-', Math.max(1, Math.ceil((count - inUse) / perInstance)));
  for (let i = inUse; i < count; i++) {
    const created = now - Math.floor(random() * maxAge);
    const type = randomType();
    const volume = volumeAt(i, created, `${region}${pick(['a', 'b', 'c'])}`, type, randomSize(type));
    if (random() < previouslyAttached) {
      const detached = created + Math.floor(random() * (now - created));
      volume.attachmentHistory.push({ instanceId: pick(goneInstances), device: pick(DEVICES), attachedAt: volume.createTime, detachedAt: isoTime(detached) });
    }
    putVolume(state, volume);
    volumeIds.push(volume.volumeId);
  }
  store.changed();
  return { volumeIds, instanceIds };
}
