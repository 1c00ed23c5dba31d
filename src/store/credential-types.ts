/**
 * What the store keeps of OAuth connections: each connection's tokens, sealed (encrypted) by the
 * caller, so that a store never sees a token; the consent requests still waiting for their answer;
 * and a lease per connection, so that one process at a time refreshes its tokens.
 */

/** A connection's sealed tokens, or the mark that its consent must be given again. */
export interface StoredConnection {
  /** The tokens, encrypted; absent when consent is needed. */
  readonly sealed?: string;
  /** Set when the authorization server refused the refresh token: `callcard connect` must run again. */
  readonly consentNeeded?: string;
  /** Epoch ms of the last change. */
  readonly updatedAt: number;
}

/** A consent request waiting for the browser to come back with its `state`. */
export interface PendingConsent {
  readonly connection: string;
  /** What finishing needs (the PKCE verifier, the redirect URI), encrypted by the caller. */
  readonly sealed: string;
  /** Epoch ms after which the request is refused. */
  readonly expiresAt: number;
}

export interface CredentialStore {
  read(connection: string): Promise<StoredConnection | undefined>;
  /** Keeps new sealed tokens (clearing a consent-needed mark). */
  save(connection: string, sealed: string): Promise<void>;
  /** Drops the tokens and keeps why consent is needed. */
  markConsentNeeded(connection: string, reason: string): Promise<void>;
  /**
   * Takes the connection's lease for `holder` until `until` (epoch ms) when nobody else holds one
   * that has not ended; answers whether it was taken. Holding it again extends it.
   */
  lease(connection: string, holder: string, until: number): Promise<boolean>;
  /** Ends the holder's lease (nothing when another holds it). */
  release(connection: string, holder: string): Promise<void>;
  /** Keeps a consent request under its `state`. */
  addPending(state: string, pending: PendingConsent): Promise<void>;
  /**
   * Removes and answers the request kept under `state`: each is taken at most once. An expired one
   * is removed and not answered.
   */
  takePending(state: string, now: number): Promise<PendingConsent | undefined>;
}
