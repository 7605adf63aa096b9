// Tiles that failed to load. OpenSeadragon never asks for a failed tile again (it marks it as not existing), so a
// page whose tiles failed while the network or the server was down would stay blank until a reload. Two causes:
// an expired tile grant (a fresh manifest brings new URLs, and the landscape swaps them in) and an outage (the
// same URLs work again later). So a failure has the document's manifest read again (the landscape's
// `tiles-failed` event) and then the failed pages loaded afresh; and a resume after a drop loads every failed
// page afresh at once, the server being back.

const EVERY_MS = 30_000; // a document whose tiles keep failing is retried at most this often

export class TileRetry {
  constructor(landscape) {
    this.landscape = landscape;
    this.last = new Map(); // document_id -> when its last retry was asked for (ms)
    this.timers = new Map(); // document_id -> the retry waiting for its turn
  }

  // A tile of `item` (one page's tiled image) failed: its document is retried at once, then at most every 30 s
  // while failures go on; the last failure's retry comes even if no other failure follows it.
  failed(item) {
    for (const [documentId, entry] of this.landscape.rows) {
      for (const [page, image] of entry.images) {
        if (image !== item) continue;
        entry.failed.add(page);
        if (this.timers.has(documentId)) return;
        const wait = Math.max(0, (this.last.get(documentId) ?? -Infinity) + EVERY_MS - Date.now());
        this.timers.set(documentId, setTimeout(() => {
          this.timers.delete(documentId);
          this.last.set(documentId, Date.now());
          this.landscape.dispatchEvent(new CustomEvent("tiles-failed", { detail: documentId }));
        }, wait));
        return;
      }
    }
  }

  // The failed pages of `documentId` (null: of every document) loaded afresh, with the URLs they have now.
  retry(documentId = null) {
    for (const [id, entry] of this.landscape.rows) {
      if (documentId !== null && id !== documentId) continue;
      const finished = new Map((entry.doc?.pages || []).map((p) => [p.page, p]));
      for (const page of [...entry.failed]) {
        const info = finished.get(page);
        if (info && entry.images.get(page) !== "loading") this.landscape.replacePage(entry, info);
      }
    }
  }
}
