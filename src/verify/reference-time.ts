/**
 * Runs tuf-js's Updater at a chosen time instead of the machine's clock, for
 * drills and for checking a repository at `--now`.
 *
 * The TUF client workflow fixes one reference time at the start of an update
 * (specification 5.1) and checks every expiry against it. tuf-js records it
 * as `referenceTime` of the Updater's trusted metadata store and offers no
 * option for it, so this sets that one field; everything else the client
 * does is unchanged. If a tuf-js release renames the field, this fails loudly
 * (test/unit/reference-time.test.ts pins the behaviour) rather than checking
 * against the wrong time.
 */
import type { Updater } from 'tuf-js';
import { TufctlError } from '../errors.js';

export function pinReferenceTime(updater: Updater, now: Date): void {
  const store = (updater as unknown as { trustedSet?: { referenceTime?: unknown } }).trustedSet;
  if (!store || !(store.referenceTime instanceof Date)) {
    throw new TufctlError(
      'USAGE',
      'this tuf-js release does not expose its reference time; checking with the client at --now is not possible (run without --now)',
    );
  }
  store.referenceTime = new Date(now.getTime());
}
