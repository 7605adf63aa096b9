// Files this browser is uploading: each listed (with its progress) until its document's item arrives, when the
// document takes its place in the list. A refused upload says the API's reason; an interrupted one (the network
// dropped during the PUT or the grant) says so and offers Retry with the same file, for the same document. A new
// version of a listed document is listed too ("new version of ..."), until the document's item moves on from
// what it showed when the upload began (its arrival makes it `analysing`), so it never seems to do nothing.
// A version the server passed over (another member's newer version of the document arrived at the same moment
// and is processed instead: the document's `passed_over` names it) comes back as a row that says so, with
// "Upload again", whenever the document says it, even after its row had gone.

import { $, announce, button, el, placeRows, showError } from "./dom.js";

export class Uploads {
  constructor(documents) {
    this.documents = documents;
    this.ws = documents.ws;
    this.uploads = new Map(); // a key per file -> {name, fraction, document_id, error, interrupted, file, was, versionOf}
    this.rows = new Map(); // upload key -> {signature, element}
    this.listed = new Map(); // the documents listed at the last render (document_id -> document)
    this.sent = new Set(); // uploads whose rows went (their S3 versions may come later): one may yet be passed over
    $("upload-button").onclick = () => $("file-input").click();
    $("file-input").onchange = (event) => {
      for (const file of event.target.files) this.upload(file);
      event.target.value = "";
    };
  }

  // The list as it is, less the uploads whose documents are `listed` now (document_id -> document), or show
  // their new version; true while one is still going.
  render(listed = this.listed) {
    this.listed = listed;
    this.findPassedOver(listed);
    for (const [key, u] of this.uploads) {
      const doc = u.document_id && listed.get(u.document_id);
      if (u.waiting && u.waiting * 1000 <= Date.now()) this.uploads.delete(key); // lapsed: its room is back
      else if (u.passedOver) { // until Dismiss, or until its version is processed after all (it leaves the list)
        if (!passedOver(doc, u.version)) this.uploads.delete(key);
      } else if (u.version && passedOver(doc, u.version)) this.passOver(u);
      else if (u.was === null ? doc : u.fraction >= 1 && !u.error && doc && shown(doc) !== u.was) {
        this.uploads.delete(key);
        this.sent.add(u);
      } else if (u.error || u.fraction < 1) continue;
      // Sent, and then the server could not keep it (a tester saw such rows vanish, or wait forever): say why.
      else if (u.was !== null && !doc) u.error = "not kept: the document was removed meanwhile";
      else if (!this.ws.canWrite()) u.error = "not accepted: you can no longer add documents here";
    }
    // A row is kept while it shows the same (a failed one's buttons must survive the renders other documents'
    // reports bring), as the documents' rows are.
    const kept = this.rows;
    this.rows = new Map();
    const rows = [...this.uploads.entries()].map(([key, u]) => {
      const signature = JSON.stringify([u.name, u.error, u.fraction, Boolean(u.document_id), u.waiting]);
      const row = kept.get(key)?.signature === signature ? kept.get(key).element : this.row(key, u);
      this.rows.set(key, { signature, element: row });
      return row;
    });
    placeRows($("uploads"), rows);
    return [...this.uploads.values()].some((u) => !u.error);
  }

  // Versions whose rows went (their documents moved on) and which a document now says it passed over.
  findPassedOver(listed) {
    for (const u of this.sent) {
      if (!passedOver(listed.get(u.document_id), u.version)) continue;
      this.sent.delete(u);
      this.uploads.set(`passed:${u.version}`, u);
      this.passOver(u);
    }
    for (const u of [...this.sent].slice(0, Math.max(0, this.sent.size - 50))) this.sent.delete(u);
  }

  passOver(u) {
    const doc = this.listed.get(u.document_id);
    u.passedOver = true;
    u.error = `not kept: a newer version of ${doc?.name || u.name}, uploaded while yours was being processed, ` +
      "replaced it. Upload yours again to make it the newest";
    announce(`${u.name}: ${u.error}`);
  }

  // A file still going up (its PUT not done): closing the page would cut it.
  busy() { return [...this.uploads.values()].some((u) => !u.error && !u.waiting && u.fraction < 1); }

  // This member's grants whose file never came (a tab closed mid-upload): each holds its size of the plan's
  // storage until its deadline, over an hour on. Looked for when the plan refuses room, the moment they matter
  // (an outside tester was refused for "bytes reserved by uploads in progress" with nothing to see or cancel),
  // and listed with Cancel, which removes the waiting document and gives its room back at once.
  async findWaiting() {
    const mine = (d) => d.status === "awaiting_upload" && d.created_by === this.ws.me.user_id;
    const going = new Set([...this.uploads.values()].filter((u) => !u.error).map((u) => u.document_id));
    let found = [];
    try { // newest first: unless a hundred documents came since, the first page holds every one still open
      found = (await this.ws.api.get(`/workspaces/${this.ws.id}/documents?limit=100`)).items.filter(mine);
    } catch { return; } // the refusal itself is shown; this is only a help
    for (const d of found) {
      if (going.has(d.document_id)) continue;
      this.uploads.set(`waiting:${d.document_id}`, { name: d.name, fraction: 0, document_id: d.document_id,
                                                     error: null, waiting: d.upload_deadline, was: null });
      // Gone from the list at its deadline, when the plan has its room back (a timer's longest wait is ~24 days).
      setTimeout(() => this.documents.render(), Math.min(2 ** 31 - 1, d.upload_deadline * 1000 - Date.now() + 500));
    }
    this.documents.render();
  }

  async cancelWaiting(key, u) {
    try {
      await this.ws.api.request("DELETE", `/workspaces/${this.ws.id}/documents/${u.document_id}`);
      this.uploads.delete(key);
      announce(`${u.name}: upload cancelled, its room given back`);
    } catch (error) {
      if (error.status === 404) this.uploads.delete(key); // arrived, lapsed or cancelled meanwhile
      else showError(`${u.name}: ${error.message}`);
    }
    this.documents.render();
  }

  row(key, u) {
    const item = el("li", u.error ? "failed" : "");
    item.dataset.file = u.name;
    if (u.document_id) item.dataset.doc = u.document_id;
    item.append(el("div", "name", u.was === null ? u.name : `New version of ${u.versionOf.name}: ${u.name}`));
    if (u.waiting) {
      const until = new Date(u.waiting * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
      item.dataset.waiting = "true";
      item.append(el("div", "status", `its upload did not finish: it holds its size of the plan's storage until ${until}`),
                  button("Cancel upload", () => this.cancelWaiting(key, u), { label: `Cancel the upload of ${u.name}` }));
    } else if (u.error) {
      const forget = () => { this.uploads.delete(key); this.documents.render(); };
      item.append(el("div", "status", u.error.startsWith("not ") ? u.error
        : `${u.interrupted ? "interrupted" : "refused"}: ${u.error}`));
      if (u.interrupted) {
        item.append(button("Retry", () => { forget(); this.upload(u.file, u.document_id, u.versionOf); },
                           { label: `Retry uploading ${u.name}` }));
      } else if (u.passedOver) { // as a new version of the document as it is now
        item.append(button("Upload again", () => {
          forget();
          this.upload(u.file, u.document_id, this.listed.get(u.document_id) || u.versionOf);
        }, { label: `Upload ${u.name} again` }));
      }
      item.append(button("Dismiss", forget, { label: `Dismiss ${u.name}` }));
    } else {
      const bar = Object.assign(el("progress"), { max: 1, value: u.fraction });
      bar.setAttribute("aria-label", `${u.name}: uploaded`);
      item.append(bar, el("div", "status", u.fraction >= 1 ? "uploaded: waiting for processing"
        : u.document_id ? `uploading ${Math.round(u.fraction * 100)}%` : "asking for an upload…"));
    }
    return item;
  }

  // `documentId`: a Retry's, so that the file goes to the document its first try reserved, or the document
  // `versionOf` (listed) that the file is a new version of.
  async upload(file, documentId = null, versionOf = null) {
    if (!this.ws.canWrite()) { showError("Viewers cannot add documents."); return; }
    const key = `${file.name}:${crypto.randomUUID()}`;
    const upload = { name: file.name, fraction: 0, document_id: documentId, error: null, interrupted: false, file,
                     was: versionOf ? shown(versionOf) : null, versionOf };
    this.uploads.set(key, upload);
    announce(`Uploading ${file.name}`);
    this.documents.render();
    try {
      if (file.size === 0) throw new Error("the file is empty"); // the API would say "size must be at least 1"
      upload.version = await this.ws.api.upload(this.ws.id, file, (fraction) => {
        upload.fraction = fraction;
        this.render();
      }, (id) => { upload.document_id = id; this.render(); }, documentId);
    } catch (error) {
      // No HTTP status: the request never got an answer (the network, or the server away), not a refusal.
      upload.interrupted = file.size > 0 && !error.status;
      upload.error = error.message;
      if (error.code === "storage_quota_exceeded") this.findWaiting(); // room held by this member's lost uploads
      // Said once, in the file's row (with Retry or Dismiss), and read out; not again in the errors list.
      announce(`${file.name}: ${upload.interrupted ? "interrupted" : "refused"}: ${error.message}`);
    }
    this.documents.render();
  }
}

// Whether the document (as listed) says it will never show that version of it.
function passedOver(doc, version) { return Boolean(doc && version && (doc.passed_over || []).includes(version)); }

// What a document shows, to tell when a new version's arrival changed it.
function shown(doc) { return JSON.stringify({ status: doc.status, job_id: doc.job_id }); }
