import { domainToASCII } from 'node:url';
import type { IdentityKind } from './tool-definition';

/*
 * One canonical form per identity, so a rule written for `ceo@acme.example`
 * also meets `CEO@ACME.EXAMPLE`, `ceo@acme.example.`, fullwidth letters and
 * an IDN domain in Unicode or punycode. Applied to what a policy evaluates,
 * never to the arguments a tool receives (their signatures cover them as
 * proposed).
 */

/** Compatibility-normalised (NFKC: fullwidth letters are letters) and case-folded. */
function folded(text: string): string {
  // Lower-casing can produce text NFKC changes again (and back): normalise on both sides.
  return text.normalize('NFKC').toLowerCase().normalize('NFKC').trim();
}

/** ASCII (punycode) form, lower case, without the root's trailing dot; undefined when not a domain name. */
function canonicalDomain(text: string): string | undefined {
  const ascii = domainToASCII(folded(text)).replace(/\.+$/, '');
  return ascii.length > 0 && !ascii.startsWith('.') && !ascii.includes('..') ? ascii : undefined;
}

/**
 * The identity's canonical form, or undefined when the text is not one of
 * its kind (a policy must then not guess what it names).
 */
export function canonicalIdentity(kind: IdentityKind, text: string): string | undefined {
  switch (kind) {
    case 'id': {
      const id = folded(text);
      return id.length > 0 ? id : undefined;
    }
    case 'domain':
      return canonicalDomain(text);
    case 'email': {
      const normal = text.normalize('NFKC');
      const at = normal.lastIndexOf('@');
      if (at <= 0) return undefined;
      const local = folded(normal.slice(0, at));
      const domain = canonicalDomain(normal.slice(at + 1));
      return local.length > 0 && domain !== undefined ? `${local}@${domain}` : undefined;
    }
  }
}
