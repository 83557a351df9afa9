/**
 * A region's volumes as DescribeVolumes sees them: the filter fields, and indexes that let a 500-item page of a
 * 100,000-volume region be served without scanning (or sorting) them all.
 *
 * Every volume gets a sequence number in creation order; the index keeps, for each indexed filter value
 * (`status=available`, `tag:Env=prod`, `attachment.instance-id=i-…` …), the ascending list of the sequence
 * numbers that have it. A page walks the smallest candidate list from where the last page ended and checks
 * every filter on each candidate, so the index only has to hold a superset of the answer. Tokens name the last
 * volume returned, so pages stay stable while volumes are added or removed.
 *
 * Indexes are derived, never persisted: one is built on first use of a region's `volumes` object (a load, a
 * reset or a restart makes a new object, so the index is rebuilt from what was loaded) and kept in step by
 * `putVolume`, `dropVolume` and `changeVolume`, which are the only ways a volume may change.
 */
import { checkVolumeId, volumesNotFound, type Ec2State, type VolumeRecord } from './ec2-model.js';
import { invalidPaginationToken, type CompiledFilter, type DescribeRequest, type DescribeShape, type FilterFields } from './ec2-describe.js';
import { decodeToken, encodeToken } from './filters.js';

/** DescribeVolumes' filters (AWS API reference, DescribeVolumes `Filter.N`), except availability-zone-id. */
export const VOLUME_FIELDS: FilterFields<VolumeRecord> = {
  'attachment.attach-time': (v) => v.attachment?.attachTime,
  'attachment.delete-on-termination': (v) => (v.attachment ? String(v.attachment.deleteOnTermination) : undefined),
  'attachment.device': (v) => v.attachment?.device,
  'attachment.instance-id': (v) => v.attachment?.instanceId,
  'attachment.status': (v) => v.attachment?.state,
  'availability-zone': (v) => v.availabilityZone,
  'create-time': (v) => v.createTime,
  encrypted: (v) => String(v.encrypted),
  'fast-restored': () => 'false',
  'multi-attach-enabled': () => 'false',
  size: (v) => String(v.size),
  'snapshot-id': (v) => v.snapshotId,
  status: (v) => v.state,
  'volume-id': (v) => v.volumeId,
  'volume-type': (v) => v.volumeType,
};

export const VOLUME_DESCRIBE: DescribeShape<VolumeRecord> = {
  idParam: 'VolumeId',
  idSetName: 'volumeSet',
  checkId: checkVolumeId,
  // "This value can be between 5 and 500; if MaxResults is given a value larger than 500, only 500 items are returned."
  maxResults: { min: 5, max: 500, capAtMax: true },
  fields: VOLUME_FIELDS,
  tagsOf: (v) => v.tags,
};

/** Fields with few distinct values per volume that filters commonly name; tags (`tag:K`, `tag-key`) are indexed too. */
const INDEXED_FIELDS = ['status', 'volume-type', 'availability-zone', 'attachment.instance-id', 'attachment.status'] as const;

type Seqs = number[];

/** Above this many candidate lists, they are merged into one before a page is walked. */
const MAX_MERGED_LISTS = 16;

export class VolumeIndex {
  /** Volume id by sequence number (undefined once deleted). */
  private readonly ids: (string | undefined)[] = [];
  private readonly seqs = new Map<string, number>();
  private readonly all: Seqs = [];
  /** Filter name -> value -> ascending sequence numbers. */
  private readonly terms = new Map<string, Map<string, Seqs>>();
  private readonly byClientToken = new Map<string, string>();

  constructor(private readonly volumes: Record<string, VolumeRecord>) {
    for (const volume of Object.values(volumes)) this.add(volume);
  }

  add(volume: VolumeRecord): void {
    const seq = this.ids.length;
    this.ids.push(volume.volumeId);
    this.seqs.set(volume.volumeId, seq);
    this.all.push(seq);
    this.indexTerms(volume, seq);
    if (volume.clientToken) this.byClientToken.set(volume.clientToken, volume.volumeId);
  }

  remove(volume: VolumeRecord): void {
    const seq = this.seqs.get(volume.volumeId);
    if (seq === undefined) return;
    this.unindexTerms(volume, seq);
    removeSorted(this.all, seq);
    this.ids[seq] = undefined;
    this.seqs.delete(volume.volumeId);
    if (volume.clientToken) this.byClientToken.delete(volume.clientToken);
  }

  /** Applies `mutate` to an indexed volume: its old index entries go before, its new ones come after. */
  change(volume: VolumeRecord, mutate: (volume: VolumeRecord) => void): void {
    const seq = this.seqs.get(volume.volumeId);
    if (seq === undefined) {
      mutate(volume);
      return;
    }
    this.unindexTerms(volume, seq);
    mutate(volume);
    this.indexTerms(volume, seq);
  }

  byToken(clientToken: string): VolumeRecord | undefined {
    const id = this.byClientToken.get(clientToken);
    return id === undefined ? undefined : this.volumes[id];
  }

  /** Volumes whose indexed `name` filter has exactly `value`, in creation order. */
  lookup(name: (typeof INDEXED_FIELDS)[number], value: string): VolumeRecord[] {
    return (this.terms.get(name)?.get(value) ?? []).map((seq) => this.volumes[this.ids[seq]!]);
  }

  /** One page of the volumes that pass the request's filters, in creation order, after the token's volume. */
  page(request: DescribeRequest<VolumeRecord>): { page: VolumeRecord[]; nextToken?: string } {
    const after = request.nextToken ? this.tokenSeq(request.nextToken) : -1;
    const page: VolumeRecord[] = [];
    let lastSeq = -1;
    let more = false;
    for (const seq of ascendingAfter(this.candidates(request.filters), after)) {
      const volume = this.volumes[this.ids[seq]!];
      if (!request.matches(volume)) continue;
      // One match past a full page is the proof that a next page exists (no token on the last page).
      if (page.length >= request.pageSize) {
        more = true;
        break;
      }
      page.push(volume);
      lastSeq = seq;
    }
    return more ? { page, nextToken: encodeToken({ after: this.ids[lastSeq]!, seq: lastSeq }) } : { page };
  }

  /** The smallest union of index lists that holds every volume the filters can match. */
  private candidates(filters: CompiledFilter[]): Seqs[] {
    let best: Seqs[] = [this.all];
    let bestSize = this.all.length;
    for (const filter of filters) {
      const lists = this.listsFor(filter);
      if (!lists) continue;
      const size = lists.reduce((n, l) => n + l.length, 0);
      if (size < bestSize) {
        best = lists;
        bestSize = size;
      }
    }
    // Merging walks every list's head per step: a wildcard over a tag with thousands of values is cheaper merged once.
    return best.length > MAX_MERGED_LISTS ? [[...new Set(best.flat())].sort((a, b) => a - b)] : best;
  }

  private listsFor(filter: CompiledFilter): Seqs[] | undefined {
    if (filter.name === 'volume-id' && filter.exact) {
      return [filter.exact.flatMap((id) => this.seqs.get(id) ?? []).sort((a, b) => a - b)];
    }
    const indexed = filter.name.startsWith('tag:') || filter.name === 'tag-key' || (INDEXED_FIELDS as readonly string[]).includes(filter.name);
    if (!indexed) return undefined;
    const byValue = this.terms.get(filter.name);
    if (!byValue) return [];
    if (filter.exact) return [...new Set(filter.exact)].map((value) => byValue.get(value) ?? []);
    // Wildcards: every indexed value they match (a few statuses, or the distinct values of one tag key).
    const lists: Seqs[] = [];
    for (const [value, seqs] of byValue) if (filter.test(value)) lists.push(seqs);
    return lists;
  }

  private tokenSeq(token: string): number {
    const position = decodeToken(token);
    if (!position || typeof position.after !== 'string' || typeof position.seq !== 'number') throw invalidPaginationToken();
    // The volume's own number when it still exists; else where it was (sequence numbers only grow).
    return this.seqs.get(position.after) ?? position.seq;
  }

  private indexTerms(volume: VolumeRecord, seq: number): void {
    forEachTerm(volume, (name, value) => {
      let byValue = this.terms.get(name);
      if (!byValue) this.terms.set(name, (byValue = new Map<string, Seqs>()));
      let seqs = byValue.get(value);
      if (!seqs) byValue.set(value, (seqs = []));
      insertSorted(seqs, seq);
    });
  }

  private unindexTerms(volume: VolumeRecord, seq: number): void {
    forEachTerm(volume, (name, value) => {
      const byValue = this.terms.get(name);
      const seqs = byValue?.get(value);
      if (!byValue || !seqs) return;
      removeSorted(seqs, seq);
      if (seqs.length === 0) byValue.delete(value);
    });
  }
}

/** The (filter name, value) pairs a volume is indexed under. A callback, not a list: bulk generation indexes 100,000 volumes. */
function forEachTerm(volume: VolumeRecord, visit: (name: string, value: string) => void): void {
  for (const name of INDEXED_FIELDS) {
    const value = VOLUME_FIELDS[name](volume);
    if (value !== undefined) visit(name, value);
  }
  for (const tag of volume.tags) {
    visit(tagFilterName(tag.Key), tag.Value);
    visit('tag-key', tag.Key);
  }
}

const tagFilterNames = new Map<string, string>();

/** `tag:<key>`, made once per key. */
function tagFilterName(key: string): string {
  let name = tagFilterNames.get(key);
  if (name === undefined) {
    name = `tag:${key}`;
    if (tagFilterNames.size < 10_000) tagFilterNames.set(key, name);
  }
  return name;
}

/** First index in ascending `seqs` whose number is greater than `after`. */
function upperBound(seqs: Seqs, after: number): number {
  let lo = 0;
  let hi = seqs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (seqs[mid] <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function insertSorted(seqs: Seqs, seq: number): void {
  // New volumes have the highest number: appending is the common case (bulk generation, creation).
  if (seqs.length === 0 || seqs[seqs.length - 1] < seq) seqs.push(seq);
  else seqs.splice(upperBound(seqs, seq), 0, seq);
}

function removeSorted(seqs: Seqs, seq: number): void {
  const i = upperBound(seqs, seq) - 1;
  if (i >= 0 && seqs[i] === seq) seqs.splice(i, 1);
}

/** The union of ascending lists, ascending and without repeats (tag-key lists overlap), from after `after`. */
function* ascendingAfter(lists: Seqs[], after: number): Generator<number> {
  if (lists.length === 1) {
    const [seqs] = lists;
    for (let i = upperBound(seqs, after); i < seqs.length; i++) yield seqs[i];
    return;
  }
  const positions = lists.map((seqs) => upperBound(seqs, after));
  let last = after;
  for (;;) {
    let min = Infinity;
    let which = -1;
    for (let i = 0; i < lists.length; i++) {
      const seq = lists[i][positions[i]];
      if (seq !== undefined && seq < min) {
        min = seq;
        which = i;
      }
    }
    if (which < 0) return;
    positions[which]++;
    if (min === last) continue;
    last = min;
    yield min;
  }
}

const indexes = new WeakMap<Record<string, VolumeRecord>, VolumeIndex>();

/** The index of a region's volumes, built from them on first use. */
export function volumeIndex(state: Ec2State): VolumeIndex {
  let index = indexes.get(state.volumes);
  if (!index) indexes.set(state.volumes, (index = new VolumeIndex(state.volumes)));
  return index;
}

/** Adds a new volume to a region. */
export function putVolume(state: Ec2State, volume: VolumeRecord): void {
  const index = volumeIndex(state); // built before the volume is in the record, so it is added once
  state.volumes[volume.volumeId] = volume;
  index.add(volume);
}

export function dropVolume(state: Ec2State, volume: VolumeRecord): void {
  volumeIndex(state).remove(volume);
  delete state.volumes[volume.volumeId];
}

/** Changes a volume of a region (state, attachment, tags …) with its indexes kept right. */
export function changeVolume(state: Ec2State, volume: VolumeRecord, mutate: (volume: VolumeRecord) => void): void {
  volumeIndex(state).change(volume, mutate);
}

/** The volumes of a DescribeVolumes request naming ids: all must exist; then filtered. */
export function volumesById(state: Ec2State | undefined, request: DescribeRequest<VolumeRecord>): VolumeRecord[] {
  const missing = request.ids.filter((id) => !state?.volumes[id]);
  if (missing.length > 0) throw volumesNotFound(missing);
  return request.ids.map((id) => state!.volumes[id]).filter(request.matches);
}
