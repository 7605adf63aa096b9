// Documents: items of the shared state (docs/protocol.md, "Documents in the workspace"), their pages from
// their manifests, and the files this browser is uploading. One list in the sidebar holds both: an upload is
// listed until its document item arrives, then the document takes its place (never both). The same states show
// on the landscape where the document sits (landscape.js), and changes are announced to screen readers.

import { shownBefore } from "./cards.js";
import { DocumentRows, pages } from "./document_rows.js";
import { $, announce, clearError, showError, tell } from "./dom.js";
import { Uploads } from "./uploads.js";

// Failures of the file itself fail the same way on a retry (docs/protocol.md): no Retry is offered for them; a
// corrected upload replaces the document. Others (a crash, the plan's month used up) may pass later.
const FILE_FAULTS = new Set(["empty", "unsupported_type", "unsupported_here", "password_protected", "corrupt",
  "too_many_pages", "image_too_large", "file_too_large", "no_pages"]);

export class Documents {
  constructor(ws) {
    this.ws = ws;
    this.manifests = new Map(); // document_id -> the document's manifest (its finished pages)
    this.earlier = new Map(); // document_id -> the manifest of the job shown before the one read last
    this.live = new Map(); // document_id -> the latest live progress (pages done), between logged statuses
    this.refreshing = new Map(); // document_id -> "running" | "again"
    this.failures = new Map(); // document_id -> reads failed in a row (retried with backoff)
    this.removedHere = new Set(); // document_ids this page removed (it said so at once)
    this.uploads = new Uploads(this); // files this browser is uploading, listed until their documents arrive
    this.said = null; // document_id -> [status last announced, name, job last ready] (null until the first render)
    this.rows = new DocumentRows(this); // the sidebar's list, and what a member can do from a row
  }

  list() {
    const docs = [];
    for (const item of this.ws.sync.items.values()) {
      if (item.kind !== "document") continue;
      const id = item.fields.document_id;
      const place = this.ws.sync.items.get(`place:${id}`);
      const manifest = this.manifests.get(id);
      const live = this.live.get(id);
      const current = manifest && manifest.job_id === item.fields.job_id ? manifest : null;
      const doc = { ...item.fields, pages: current ? current.pages : [] };
      // Until its own pages replace them, the earlier job's pages are what people see, damage and all.
      doc.shownBefore = shownBefore(current ? this.earlier.get(id) : manifest, doc.pages, doc.page_count);
      if (live && live.job_id === doc.job_id && doc.status === "tiling") {
        doc.pages_done = Math.max(doc.pages_done || 0, live.pages_done || 0);
      }
      if (doc.status === "tiling") doc.pages_done = Math.max(doc.pages_done || 0, doc.pages.length);
      doc.canRetry = doc.status === "failed" && this.ws.isOwner() && !FILE_FAULTS.has(doc.reason_code);
      if (place) doc.origin = { x: Number(place.fields.x) || 0, y: Number(place.fields.y) || 0 };
      docs.push(doc);
    }
    return docs.sort((a, b) => (a.origin?.y ?? 0) - (b.origin?.y ?? 0) || a.document_id.localeCompare(b.document_id));
  }

  // Whether the document has finished pages this browser does not hold (a failed one keeps the pages it
  // finished). A manifest is read only then: every read is a REST request from every member online, so a
  // report that brings no new page reads nothing.
  lacksPages(doc) {
    if (!["tiling", "ready", "failed"].includes(doc.status)) return false;
    const manifest = this.manifests.get(doc.document_id);
    const held = manifest && manifest.job_id === doc.job_id ? manifest.pages.length : 0;
    return held < (doc.status === "ready" ? doc.page_count : doc.pages_done || 0);
  }

  // `joined`: a welcome was handled (a join, or a resume after a drop). The reports of pages finished while
  // this browser was away will not come again, so each document being tiled is read once to show them, and
  // each one analysing a new version once for the pages of the version it still shows.
  onItems(joined = false) {
    const docs = this.list();
    for (const doc of docs) {
      const away = joined && (doc.status === "tiling" || (doc.status === "analysing" && doc.job_id));
      if (away || this.lacksPages(doc)) this.refresh(doc.document_id);
    }
    for (const id of [...this.manifests.keys()]) {
      if (!docs.some((d) => d.document_id === id)) for (const map of [this.manifests, this.earlier]) map.delete(id);
    }
    this.render();
  }

  async refresh(documentId) {
    if (this.refreshing.has(documentId)) { this.refreshing.set(documentId, "again"); return; }
    this.refreshing.set(documentId, "running");
    try {
      const manifest = await this.ws.api.get(`/workspaces/${this.ws.id}/documents/${documentId}`);
      const held = this.manifests.get(documentId);
      if (held && held.job_id !== manifest.job_id) this.earlier.set(documentId, held);
      this.manifests.set(documentId, manifest);
      this.render();
      if (this.failures.delete(documentId) && this.failures.size === 0) clearError(this.readError); // all read now
    } catch (error) {
      if (error.status !== 404) this.retryLater(documentId, error); // 404: removed meanwhile
    } finally {
      // Asked again while reading: read again only if this read came before the pages that news was about.
      const again = this.refreshing.get(documentId) === "again";
      this.refreshing.delete(documentId);
      const doc = again && this.list().find((d) => d.document_id === documentId);
      if (doc && this.lacksPages(doc)) this.refresh(documentId);
    }
  }

  // A read that failed (the network, the server's 5xx or 429) is tried again while the document still has
  // pages this browser lacks: no other news may come for a document that is ready. Backoff from 2 s to 60 s;
  // the error shows once per run of failures.
  retryLater(documentId, error) {
    const tries = (this.failures.get(documentId) || 0) + 1;
    this.failures.set(documentId, tries);
    const name = this.list().find((d) => d.document_id === documentId)?.name || "a document";
    if (tries === 1) showError(this.readError = `Could not read the pages of ${name}: ${error.message}. Trying again.`);
    setTimeout(() => {
      const doc = this.list().find((d) => d.document_id === documentId);
      if (doc && this.lacksPages(doc)) return this.refresh(documentId);
      this.failures.delete(documentId); // nothing left to read: the error is over too
      if (this.failures.size === 0) clearError(this.readError);
      return undefined;
    }, Math.min(60_000, 1000 * 2 ** tries));
  }

  onProgress({ subject, progress }) {
    const seen = this.live.get(subject);
    const higher = !seen || seen.job_id !== progress.job_id || (progress.pages_done || 0) >= (seen.pages_done || 0);
    if (progress.status === "tiling" && higher) this.live.set(subject, progress); // a late report never lowers it
    this.render();
    const doc = this.list().find((d) => d.document_id === subject);
    // A refused new version (`previous_kept`) names the job shown again: read it if it is not the one held.
    const manifest = this.manifests.get(subject);
    const kept = progress.previous_kept && (!manifest || manifest.job_id !== progress.job_id);
    if (kept || (doc && this.lacksPages(doc))) this.refresh(subject);
  }

  render() {
    const docs = this.list();
    this.ws.landscape.setDocuments(docs.filter((d) => d.origin));
    const busy = this.uploads.render(new Map(docs.map((d) => [d.document_id, d])));
    const hint = $("drop-hint");
    hint.hidden = docs.length > 0 || busy || !this.ws.canWrite();
    $("doc-count").textContent = docs.length ? `(${docs.length})` : "";
    // Newest first; ties (whole seconds) by id, so that no later change (a placement arriving) reorders rows.
    this.rows.show($("documents"), [...docs].sort((a, b) => b.created_at - a.created_at || a.document_id.localeCompare(b.document_id)));
    this.announceChanges(docs);
    this.ws.onDocuments();
  }

  retry(documentId) { return this.rows.retry(documentId); }

  announceChanges(docs) {
    // What the page's first join brings is read, not announced: only later news, including what changed while
    // this page was offline (said when it is back, as the chat does).
    if (!this.ws.sync.welcomed) return;
    const first = this.said === null;
    const said = new Map();
    for (const doc of docs) {
      const before = first ? undefined : this.said.get(doc.document_id);
      const readyJob = doc.status === "ready" ? doc.job_id : before?.[2]; // a new version's, or a reprocess's
      said.set(doc.document_id, [doc.status, doc.name, readyJob]);
      if (first || before?.[0] === doc.status) continue;
      if (doc.reason_code && doc.status !== "failed") announce(`A new version of ${doc.name} was refused: ${doc.reason || doc.reason_code}. The earlier version is still shown`);
      else if (doc.status === "ready" && before?.[2] && before[2] !== doc.job_id) tell(`${doc.name} was updated: ${pages(doc.page_count)}`);
      else if (doc.status === "ready") announce(`${doc.name} is ready: ${pages(doc.page_count)}`);
      else if (doc.status === "failed") announce(`${doc.name} could not be processed: ${doc.reason || doc.reason_code}`);
      else if (doc.status === "tiling") announce(`${doc.name}: ${pages(doc.page_count)}, being prepared`);
      else announce(`${doc.name} arrived and is being analysed`);
    }
    // Removed by anyone (this page's own Remove says so itself): its pages leave the landscape with a word.
    for (const [id, [, name]] of first ? [] : this.said) if (!said.has(id) && !this.removedHere.has(id)) tell(`${name} was removed`);
    this.said = said;
  }
}
