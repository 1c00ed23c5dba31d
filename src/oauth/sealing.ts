import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Tokens at rest: AES-256-GCM under a key derived (HKDF-SHA256) from the tenant's secret. The
 * label (the connection's name, a consent request's state) is authenticated with the text, so a
 * sealed value moved to another row does not open.
 */
export interface Sealer {
  seal(text: string, label: string): string;
  /** Throws when the value was not sealed with this key and label, or was changed. */
  open(sealed: string, label: string): string;
}

const VERSION = 'v1';

export function createSealer(secret: Buffer): Sealer {
  if (secret.length < 32) throw new Error('the tenant secret must hold at least 32 bytes');
  const key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'callcard oauth tokens', 32));
  return {
    seal(text, label) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(label, 'utf8'));
      const data = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
      const parts = [iv, data, cipher.getAuthTag()].map((part) => part.toString('base64url'));
      return [VERSION, ...parts].join('.');
    },
    open(sealed, label) {
      const [version, iv, data, tag] = sealed.split('.');
      if (version !== VERSION || iv === undefined || data === undefined || tag === undefined) {
        throw new Error('sealed tokens of an unknown form');
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(label, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString(
          'utf8',
        );
      } catch {
        throw new Error('the sealed tokens do not open with this tenant secret');
      }
    },
  };
}
