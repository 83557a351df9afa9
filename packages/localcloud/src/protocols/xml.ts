/**
 * The XML the query-style services (EC2, STS, RDS, SNS) answer with. A value tree is written as elements:
 * objects nest, arrays become `<name><item>…</item></name>` (EC2) or `<name><member>…</member></name>` (query).
 */
export type XmlValue = string | number | boolean | Date | null | undefined | XmlList | XmlValue[] | { [name: string]: XmlValue };

/**
 * A list whose items carry an element name of their own, where the service's model names them: RDS writes
 * `<DBInstances><DBInstance>…</DBInstance></DBInstances>` and SNS writes maps as `<Attributes><entry>…`. The SDK
 * reads list items by that name, so a plain array (always `<member>` or `<item>`) would read as an empty list.
 */
export class XmlList {
  constructor(
    readonly itemName: string,
    readonly items: XmlValue[],
  ) {}
}

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function toXml(name: string, value: XmlValue, itemName: string): string {
  if (value === undefined || value === null) return '';
  if (value instanceof XmlList) return `<${name}>${value.items.map((v) => toXml(value.itemName, v, itemName)).join('')}</${name}>`;
  if (Array.isArray(value)) {
    return `<${name}>${value.map((v) => toXml(itemName, v, itemName)).join('')}</${name}>`;
  }
  if (value instanceof Date) return `<${name}>${value.toISOString()}</${name}>`;
  if (typeof value === 'object') {
    const inner = Object.entries(value)
      .map(([k, v]) => toXml(k, v, itemName))
      .join('');
    return `<${name}>${inner}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}
