// NextToken walks. The first page computes the full, filtered id list once and keeps it; later pages
// slice it, so a walk over N results costs one O(region) scan plus O(N), not a scan per page.
// Tokens name the cached listing and an offset; a token whose listing was evicted is recomputed from
// the request's own parameters (clients resend them with every page, as EC2 requires).
import { createHash } from "node:crypto";
import { invalidParameterValue, SimError } from "./errors.ts";

interface Listing {
  key: string;
  ids: string[];
}

export interface Page {
  ids: string[];
  nextToken?: string;
}

const MAX_LISTINGS = 256;

export class ListingCache {
  private readonly listings = new Map<string, Listing>();
  private counter = 0;

  /** One page of ids; `key` identifies the query (region + parameters). */
  page(
    key: string,
    token: string | undefined,
    maxResults: number | undefined,
    compute: () => string[],
  ): Page {
    if (maxResults === undefined && token === undefined) return { ids: compute() };
    const size = maxResults ?? 1000;
    let listingId: string;
    let offset: number;
    let listing: Listing | undefined;
    if (token === undefined) {
      this.counter += 1;
      listingId = createHash("sha256").update(`${key}:${this.counter}`).digest("hex").slice(0, 16);
      offset = 0;
      listing = { key, ids: compute() };
      this.remember(listingId, listing);
    } else {
      const parsed = /^([0-9a-f]{16})\.(\d+)$/.exec(Buffer.from(token, "base64url").toString("utf8"));
      if (!parsed)
        throw new SimError("InvalidPaginationToken", `The pagination token '${token}' is invalid.`);
      listingId = parsed[1]!;
      offset = Number(parsed[2]);
      listing = this.listings.get(listingId);
      if (listing && listing.key !== key) {
        throw new SimError(
          "InvalidPaginationToken",
          "The pagination token was issued for a request with different parameters; resend the original parameters.",
        );
      }
      if (!listing) {
        listing = { key, ids: compute() };
        this.remember(listingId, listing);
      }
    }
    const ids = listing.ids.slice(offset, offset + size);
    const next = offset + size;
    if (next >= listing.ids.length) {
      this.listings.delete(listingId);
      return { ids };
    }
    return { ids, nextToken: Buffer.from(`${listingId}.${next}`, "utf8").toString("base64url") };
  }

  private remember(id: string, listing: Listing): void {
    this.listings.set(id, listing);
    if (this.listings.size > MAX_LISTINGS) {
      const oldest = this.listings.keys().next().value;
      if (oldest !== undefined) this.listings.delete(oldest);
    }
  }
}

export function checkMaxResults(maxResults: number | undefined, min: number, max: number): void {
  if (maxResults === undefined) return;
  if (maxResults < min || maxResults > max) {
    throw invalidParameterValue(
      `Value ( ${maxResults} ) for parameter maxResults is invalid. Expecting a value between ${min} and ${max}.`,
    );
  }
}
