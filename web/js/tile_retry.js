// Tiles that failed to load. OpenSeadragon never asks for a failed tile again (it marks it as not existing), so a
// page whose tiles failed while the network or the server was down would stay blank until a reload. Two causes:
// an expired tile grant (a fresh manifest brings new URLs, and the landscape swaps them in) and an outage (the
// same URLs work again later). So a failure has the document's manifest read again (the landscape's
// `tiles-failed` event) and then the failed pages loaded afresh; and a resume after a drop loads every failed
// page afresh at once, the server being back. While any page's tiles are failing, the errors list says so (a
// landscape left blank without a word reads as "nothing is there"); the first tile of it that loads takes it away.

import { clearError, showError } from "./dom.js";

const EVERY_MS = 30_000; // a document whose tiles keep failing is retried at most this often
const AGAIN_MS = 5_000; // ... and, once other tiles load, its failed pages asked for again at most this often

export class TileRetry {
  constructor(landscape) {
    this.landscape = landscape;
    this.last = new Map(); // document_id -> when its last retry was asked for (ms)
    this.timers = new Map(); // document_id -> the retry waiting for its turn
    this.failing = new Set(); // document_ids whose tiles failed and have not loaded since
    this.again = new Map(); // document_id -> when loaded tiles elsewhere last had its failed pages asked again
    this.said = null; // the message on screen about them
  }

  // A tile of `item` (one page's tiled image) failed: its document is retried at once, then at most every 30 s
  // while failures go on; the last failure's retry comes even if no other failure follows it.
  failed(item) {
    for (const [documentId, entry] of this.landscape.rows) {
      for (const [page, image] of entry.images) {
        if (image !== item) continue;
        entry.failed.add(page);
        this.failing.add(documentId);
        this.tell();
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

  // A tile loaded: tiles load again. The failed pages of every document said to be failing are asked for
  // afresh (at most every 5 s each: a document whose own tiles still fail is not asked for at every tile of
  // another), and a document none of whose pages has failed since is no longer named: one out of view asks
  // for no tile to prove itself, and is named again if its tiles fail when it comes into view.
  loaded() {
    if (!this.failing.size) return;
    const now = Date.now();
    for (const id of [...this.failing]) {
      const entry = this.landscape.rows.get(id);
      if (entry?.failed.size && now - (this.again.get(id) ?? -Infinity) >= AGAIN_MS) {
        this.again.set(id, now);
        this.retry(id);
      }
      if (!entry?.failed.size) this.failing.delete(id);
    }
    this.tell();
  }

  // The errors list says which documents' pages are not loading, in words; nothing once they all load.
  tell() {
    for (const id of [...this.failing]) if (!this.landscape.rows.has(id)) this.failing.delete(id); // removed
    const names = [...this.failing].map((id) => this.landscape.rows.get(id).doc?.name || "a document");
    const message = names.length === 0 ? null
      : `The pages of ${names.join(", ")} could not be loaded: they are being tried again, with no need to reload.`;
    if (message === this.said) return;
    if (this.said) clearError(this.said);
    if (message) showError(message);
    this.said = message;
  }
}
