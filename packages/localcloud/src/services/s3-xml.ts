/**
 * The XML of S3's bucket configuration requests and answers. Request bodies are small documents of elements and
 * text (no attributes that matter, no mixed content), so a strict little reader does; whatever it cannot read is
 * S3's MalformedXML. Answers are written with the query services' `toXml`, under a root carrying S3's namespace.
 */
import { AwsError } from '../errors.js';
import { escapeXml, toXml, type XmlValue } from '../protocols/xml.js';

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

export interface XmlElement {
  /** Local name: a namespace prefix is dropped. */
  name: string;
  children: XmlElement[];
  text: string;
}

export const malformedXml = () =>
  new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema');

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** XML's Char production: a character reference to anything else is not well formed. */
function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

function decodeText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]{1,8}|#\d{1,8}|[a-z]{1,8});|&/g, (_whole, ref: string | undefined) => {
    if (ref === undefined) throw malformedXml();
    if (ref.startsWith('#')) {
      const code = ref.startsWith('#x') ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!isXmlChar(code)) throw malformedXml();
      return String.fromCodePoint(code);
    }
    // Entity names are data: only the five XML predefines (never `constructor` or `__proto__`).
    if (!Object.hasOwn(ENTITIES, ref)) throw malformedXml();
    return ENTITIES[ref];
  });
}

/** Reads one XML document into its root element; anything not well formed is MalformedXML. */
export function parseXml(document: string): XmlElement {
  const body = document.replace(/^\uFEFF?\s*<\?xml[^?]*\?>/, '').replace(/<!--[\s\S]*?-->/g, '');
  const token = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)|(<)/g;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  for (const m of body.matchAll(token)) {
    const [, closing, qualified, , selfClosing, text, stray] = m;
    if (stray !== undefined) throw malformedXml();
    if (text !== undefined) {
      if (stack.length === 0) {
        if (text.trim() !== '') throw malformedXml();
        continue;
      }
      stack[stack.length - 1].text += decodeText(text);
      continue;
    }
    const name = qualified.includes(':') ? qualified.slice(qualified.indexOf(':') + 1) : qualified;
    if (closing) {
      const open = stack.pop();
      if (!open || open.name !== name) throw malformedXml();
      continue;
    }
    const element: XmlElement = { name, children: [], text: '' };
    if (stack.length > 0) stack[stack.length - 1].children.push(element);
    else if (root) throw malformedXml();
    else root = element;
    if (!selfClosing) stack.push(element);
  }
  if (!root || stack.length > 0) throw malformedXml();
  return root;
}

/** The children of `element` named `name`. */
export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}

/** The trimmed text of the one child named `name`; undefined when absent, MalformedXML when repeated. */
export function childText(element: XmlElement, name: string): string | undefined {
  const found = childrenNamed(element, name);
  if (found.length > 1) throw malformedXml();
  return found[0]?.text.trim();
}

/** An S3 answer document: `<root xmlns="…S3…">` with the elements of `content` (written as the query services do). */
export function s3Document(root: string, content: Record<string, XmlValue> | string): string {
  const inner = typeof content === 'string' ? escapeXml(content) : Object.entries(content).map(([k, v]) => toXml(k, v, 'member')).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_XMLNS}">${inner}</${root}>`;
}
