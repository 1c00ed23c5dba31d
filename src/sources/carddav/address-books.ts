import {
  type Dav,
  DavError,
  type DavProps,
  pathKey,
  propHref,
  propText,
  sameResource,
  urlLabel,
} from './dav.js';

export interface AddressBook {
  /** Absolute URL of the collection. */
  readonly url: string;
  /** Display name, else the last segment of the path. */
  readonly name: string;
  /** Last segment of the path, decoded: `contacts` of `/remote.php/dav/addressbooks/users/ann/contacts/`. */
  readonly segment: string;
  /** sync-token (RFC 6578), else getctag: changes whenever a vCard in it does. */
  readonly fingerprint?: string;
}

const LOCATE_PROPS: DavProps = {
  'd:resourcetype': {},
  'd:current-user-principal': {},
  'card:addressbook-home-set': {},
};
const BOOK_PROPS: DavProps = {
  'd:resourcetype': {},
  'd:displayname': {},
  'cs:getctag': {},
  'd:sync-token': {},
};

/** Where the address books are: the configured URL is one, or a home that holds them. */
type Place = { readonly kind: 'book' | 'home'; readonly url: string };

const isAddressBook = (props: Readonly<Record<string, unknown>>) => {
  const type = props['resourcetype'];
  return typeof type === 'object' && type !== null && 'addressbook' in type;
};

/** Answers of a server root that is not itself WebDAV, but may announce its CardDAV service elsewhere. */
const notDav = (error: unknown) =>
  error instanceof DavError && error.status !== undefined && error.status !== 401 && error.status !== 403;

function bookOf(url: string, props: Readonly<Record<string, unknown>>): AddressBook {
  const segment = pathKey(url).split('/').at(-1) ?? '';
  const name = propText(props['displayname'])?.trim() || segment;
  const fingerprint = propText(props['syncToken']) ?? propText(props['getctag']);
  return { url: url.endsWith('/') ? url : `${url}/`, name, segment, ...(fingerprint && { fingerprint }) };
}

/** Whether `wanted` (from the `addressBooks` setting) names the book: display name, last segment, path or URL. */
function names(book: AddressBook, wanted: string): boolean {
  const text = wanted.trim().toLowerCase();
  const path = text.replace(/\/+$/, '');
  if (book.name.toLowerCase() === text || book.segment.toLowerCase() === path) return true;
  if (/^https?:\/\//.test(path)) return book.url.replace(/\/+$/, '').toLowerCase() === path;
  return pathKey(book.url).toLowerCase() === path;
}

/**
 * Finds the address books behind the configured URL: the URL itself when it is one, else the
 * user's addressbook-home-set, found through current-user-principal (RFC 6352 section 7, RFC 5397),
 * with `/.well-known/carddav` (RFC 6764) for a server root that is not WebDAV itself. Where they
 * are is found once; the books themselves are listed at each call (one PROPFIND), so added or
 * removed books and their fingerprints are seen.
 */
export function createAddressBooks(dav: Dav, rootUrl: string, wanted: readonly string[] | undefined) {
  let place: Place | undefined;

  async function locate(url: string, signal: AbortSignal, wellKnownTried = false): Promise<Place> {
    // Only for a server given by its root: a mistyped address book URL must fail, not find the others.
    const viaWellKnown = async (): Promise<Place | undefined> => {
      if (wellKnownTried || new URL(url).pathname !== '/') return undefined;
      const found = await dav.wellKnown(url, signal);
      return found === undefined ? undefined : locate(found, signal, true);
    };
    let entries: Awaited<ReturnType<Dav['propfind']>>;
    try {
      entries = await dav.propfind(url, LOCATE_PROPS, '0', signal);
    } catch (error) {
      if (notDav(error)) {
        const found = await viaWellKnown();
        if (found) return found;
      }
      throw error;
    }
    const self = entries.find((entry) => sameResource(entry.url, url)) ?? entries[0];
    if (!self) throw new DavError(`PROPFIND ${urlLabel(url)}: the answer names no resource`);
    if (isAddressBook(self.props)) return { kind: 'book', url };
    const home = propHref(self.props['addressbookHomeSet']);
    if (home) return { kind: 'home', url: new URL(home, url).href };
    const principal = propHref(self.props['currentUserPrincipal']);
    if (principal) {
      const principalUrl = new URL(principal, url).href;
      const [found] = await dav.propfind(principalUrl, { 'card:addressbook-home-set': {} }, '0', signal);
      const homeOfPrincipal = propHref(found?.props['addressbookHomeSet']);
      if (homeOfPrincipal) return { kind: 'home', url: new URL(homeOfPrincipal, principalUrl).href };
      throw new DavError(
        `PROPFIND ${urlLabel(principalUrl)}: the user's principal names no addressbook-home-set; give the URL of an address book`,
      );
    }
    // No principal: a collection that holds address books itself, unless the service is elsewhere.
    return (await viaWellKnown()) ?? { kind: 'home', url };
  }

  function choose(found: readonly AddressBook[], where: string): AddressBook[] {
    if (wanted === undefined) {
      if (found.length === 0) throw new Error(`${where}: no address book found`);
      return [...found];
    }
    const missing = wanted.filter((name) => !found.some((book) => names(book, name)));
    if (missing.length > 0) {
      const known = found.map((book) => `"${book.name}" (${new URL(book.url).pathname})`).slice(0, 20);
      throw new Error(
        `${where}: no address book ${missing.map((name) => `"${name}"`).join(', ')}; ` +
          (known.length > 0 ? `there are ${known.join(', ')}` : 'there is none'),
      );
    }
    return found.filter((book) => wanted.some((name) => names(book, name)));
  }

  return {
    /** The address books to read (those named in `addressBooks`, else all), with their fingerprints. */
    async list(signal: AbortSignal): Promise<AddressBook[]> {
      place ??= await locate(rootUrl, signal);
      const { kind, url } = place;
      try {
        const entries = await dav.propfind(url, BOOK_PROPS, kind === 'book' ? '0' : '1', signal);
        const books = entries
          .filter((entry) => entry.status >= 200 && entry.status < 300 && isAddressBook(entry.props))
          .map((entry) => bookOf(entry.url, entry.props));
        return choose(books, urlLabel(url));
      } catch (error) {
        // Looked for again next time: the server may have moved them.
        place = undefined;
        throw error;
      }
    },
  };
}
