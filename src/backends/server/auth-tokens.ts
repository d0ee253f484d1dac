/**
 * `AuthTokens`: the short-lived JWTs of `POST /api/v1/auth/token` (the Tinker SDK exchanges its API
 * key for one and then sends it as `X-API-Key`). HS256 over a secret drawn when the server starts,
 * so a token is good only on the server that minted it and only until its `exp`; the API key itself
 * is compared in constant time.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Mints and checks the server's JWTs. */
export class AuthTokens {
  private readonly secret = randomBytes(32);

  constructor(private readonly lifetimeSeconds = 3600) {}

  /** A JWT for `subject`, valid for the lifetime from now (`nowSeconds` for tests). */
  mint(subject: string, nowSeconds = Math.floor(Date.now() / 1000)): string {
    const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
    const payload = base64url(
      JSON.stringify({ sub: subject, iat: nowSeconds, exp: nowSeconds + this.lifetimeSeconds }),
    );
    return `${header}.${payload}.${this.sign(`${header}.${payload}`)}`;
  }

  /** Whether `token` is a JWT this server minted that has not expired. */
  verify(token: string, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
    const parts = token.split('.');
    if (parts.length !== 3) return false;
    if (!sameText(this.sign(`${parts[0]}.${parts[1]}`), parts[2]!)) return false;
    try {
      const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { exp?: unknown };
      return typeof claims.exp === 'number' && claims.exp > nowSeconds;
    } catch {
      return false;
    }
  }

  private sign(text: string): string {
    return createHmac('sha256', this.secret).update(text).digest('base64url');
  }
}

/** Constant-time comparison of two strings (false when their lengths differ). */
export function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}
