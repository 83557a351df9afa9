/** The Executions view's filters and their query string (pure). */

export const FILTERS = ['status', 'runbook', 'automation', 'target'] as const;
export type Filter = (typeof FILTERS)[number];
export type Filters = Partial<Record<Filter, string>>;

/**
 * The filters named in a query string (empty values dropped, unknown keys ignored).
 *
 * @example
 * parseFilters('?status=Failed&runbook=&x=1') // { status: 'Failed' }
 */
export function parseFilters(search: string | Record<string, string | undefined>): Filters {
  const params = typeof search === 'string' ? new URLSearchParams(search) : new URLSearchParams(Object.entries(search).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const out: Filters = {};
  for (const key of FILTERS) {
    const value = params.get(key)?.trim();
    if (value) out[key] = value;
  }
  return out;
}

/**
 * A query string (with its `?`, or '' when empty) of the filters and any extra parameters, in a stable order.
 *
 * @example
 * toQuery({ runbook: 'AWS-RestartEC2Instance', status: 'Failed' }) // '?status=Failed&runbook=AWS-RestartEC2Instance'
 * toQuery({}, { limit: '50' }) // '?limit=50'
 */
export function toQuery(filters: Filters, extra: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const key of FILTERS) if (filters[key]) params.set(key, filters[key]);
  for (const [key, value] of Object.entries(extra)) if (value) params.set(key, value);
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * The page size a list view's address asks for (`?limit=`, 1-100), or undefined for the API's default (50).
 *
 * @example
 * pageSize('10') // '10'
 * pageSize('500') // undefined
 */
export function pageSize(limit: string | undefined): string | undefined {
  return limit !== undefined && /^([1-9][0-9]?|100)$/.test(limit) ? limit : undefined;
}
