// One workspace, open in this page: the sync connection and what it feeds (documents, notes and tasks, people,
// chat), the landscape and its toolbar, drops, and what the member's role allows.

import { Chat } from "./chat.js";
import { Documents } from "./documents.js";
import { $, announce } from "./dom.js";
import { Landscape } from "./landscape.js";
import { Notes } from "./notes.js";
import { Overlays } from "./overlays.js";
import { People } from "./people.js";
import { showRefusal } from "./refusals.js";
import { keepView, savedView } from "./session.js";
import { WorkspaceSync } from "./sync.js";

const PRESENCE_EVERY_MS = 250;

export class Workspace {
  constructor(config, api, me, workspace) {
    Object.assign(this, { config, api, me, id: workspace.workspace_id, restRole: workspace.role });
    this.landscape = new Landscape($("viewer"));
    this.overlays = new Overlays(this.landscape, $("presence-labels"));
    this.sync = new WorkspaceSync({ url: config.websocket, token: api.token, workspace: this.id, me: me.user_id });
    // Asked when the connection is refused or closed by the server: is it this member's access that ended?
    this.sync.checkAccess = () => api.get(`/workspaces/${encodeURIComponent(this.id)}`).then(() => null, (error) =>
      (error.status === 404 || error.status === 403 ? "removed" : error.status === 401 ? "signed-out" : null));
    this.documents = new Documents(this);
    this.notes = new Notes(this);
    this.people = new People(this);
    this.chat = new Chat(this);
  }

  role() { return this.sync.role || this.restRole; }

  canWrite() { return this.role() !== "viewer" && !this.sync.closed; } // closed: removed, or signed out

  isOwner() { return this.role() === "owner"; }

  start() {
    // What would be lost with the page makes the browser ask first: an open edit with changed text, a file
    // still going up. (Ops not stored yet are kept in the browser and sent by the next page: outbox_store.js.)
    window.addEventListener("beforeunload", (event) => {
      const edit = this.notes.editing;
      if ((edit && edit.draft.trim() !== edit.base.trim()) || this.documents.uploads.busy()) event.preventDefault();
    });
    this.wireSync();
    this.wireViewer();
    const view = savedView(this.id, this.me.user_id);
    if (view) this.landscape.showView(view, true); // where this person was before the reload
    this.landscape.emitView(); // others see where this person looks from the start
    this.applyRole();
    this.people.render();
    this.sync.start();
  }

  // A viewer sees no Upload button, no note form, no drop hint and no document's New version or Remove; editors
  // and owners see them all (Remove: owners, and the member who uploaded the document).
  // A page whose member was removed (or signed out) writes nothing: no chat either, and nobody shown online.
  applyRole() {
    const write = this.canWrite();
    const gone = this.sync.closed;
    $("upload-button").hidden = !write;
    $("file-input").disabled = !write;
    $("app").dataset.role = this.role();
    const role = gone ? "no longer a member" : this.role();
    $("me").textContent = `${this.me.name} · ${role}`;
    const option = [...$("workspace-select").options].find((o) => o.value === this.id); // its role, as now
    if (option) option.textContent = option.textContent.replace(/ \([^()]*\)$/, ` (${role})`);
    for (const control of $("chat-form").elements) control.disabled = gone;
    if (gone) { this.people.replaceAll([]); this.chat.render(); }
    this.notes.render();
    this.documents.render();
  }

  onDocuments() {
    this.notes.render();
    this.people.render();
  }

  // --- the router -------------------------------------------------------------------------------------
  wireSync() {
    const sync = this.sync;
    sync.addEventListener("connection", ({ detail }) => {
      const label = $("connection");
      label.dataset.state = detail.state;
      label.textContent = detail.state;
      const banner = $("banner");
      banner.hidden = detail.state === "connected";
      if (detail.state === "expired") banner.textContent = "Your sign-in has expired: sign in again (Sign out, or reload). Changes not sent yet are kept and sent then.";
      else if (detail.state === "removed") {
        banner.textContent = "You are no longer a member of this workspace: what is shown is as it was. Reload to open another.";
        this.applyRole();
      }
      else if (detail.state === "offline") banner.textContent = "You are offline: changes are kept and sent when the network returns.";
      else if (detail.state === "reconnecting") {
        banner.textContent = `Connection lost (${plainClose(detail.reason)}): reconnecting in ${Math.ceil(detail.delay / 1000)} s…`;
      }
      if (detail.state !== "connected") this.people.lost();
      if (detail.state === "connected") {
        this.applyRole();
        this.sendView(true);
        this.documents.onItems(true);
        this.landscape.tileRetry.retry(); // the server is back: tiles that failed while it was away load now
      }
    });
    sync.addEventListener("presence-all", ({ detail }) => this.people.replaceAll(detail.presence));
    sync.addEventListener("presence-more", ({ detail }) => this.people.add(detail.presence));
    sync.addEventListener("presence", ({ detail }) => this.people.update(detail));
    sync.addEventListener("progress", ({ detail }) => this.documents.onProgress(detail));
    sync.addEventListener("role", ({ detail }) => {
      // An owner changed this member's role while the page was open: its controls follow, and refusals that
      // came of the old role are over.
      for (const old of [...$("errors").children]) {
        if (old.dataset.code === "role_too_low" && !old.dataset.kept) old.remove();
      }
      announce(`Your role in this workspace is now ${detail.role}`);
      this.applyRole();
      this.documents.render();
    });
    sync.addEventListener("chat", () => this.chat.render());
    sync.addEventListener("outbox", () => { this.chat.render(); this.notes.render(); });
    sync.addEventListener("items", ({ detail }) => this.documents.onItems(Boolean(detail?.all)));
    sync.addEventListener("error", ({ detail }) => showRefusal(this, detail));
  }

  // --- the viewer, its toolbar and drops --------------------------------------------------------------
  wireViewer() {
    this.landscape.addEventListener("view", ({ detail }) => { this.view = detail; this.sendView(false); });
    this.landscape.addEventListener("moved", () => this.notes.render());
    this.landscape.addEventListener("retry", ({ detail }) => this.documents.retry(detail));
    // Tiles stopped loading (an expired tile grant: a fresh manifest brings fresh URLs; or the network: the same
    // URLs are asked again).
    this.landscape.addEventListener("tiles-failed", async ({ detail }) => {
      await this.documents.refresh(detail);
      this.landscape.tileRetry.retry(detail);
    });
    $("zoom-in").onclick = () => this.landscape.zoomBy(1.5);
    $("zoom-out").onclick = () => this.landscape.zoomBy(1 / 1.5);
    $("zoom-fit").onclick = () => this.landscape.fitAll();
    const viewer = $("viewer");
    viewer.addEventListener("dragover", (event) => { event.preventDefault(); if (this.canWrite()) viewer.classList.add("dragover"); });
    viewer.addEventListener("dragleave", () => viewer.classList.remove("dragover"));
    viewer.addEventListener("drop", (event) => {
      event.preventDefault();
      viewer.classList.remove("dragover");
      for (const file of event.dataTransfer.files) this.documents.uploads.upload(file);
    });
  }

  // Throttled: at most one presence message every PRESENCE_EVERY_MS, always ending with the latest view, which
  // is also kept for the next visit.
  sendView(now) {
    if (!this.view) return;
    clearTimeout(this.viewTimer);
    const wait = now ? 0 : Math.max(0, (this.viewSentAt || 0) + PRESENCE_EVERY_MS - Date.now());
    this.viewTimer = setTimeout(() => {
      this.viewSentAt = Date.now();
      keepView(this.id, this.me.user_id, this.view);
      this.sync.presence({ status: "active", viewport: this.view });
    }, wait);
  }
}

// A close as people read it, not its code (a tester saw "Connection lost (closed (1006))").
const CLOSES = { 1000: "closed", 1001: "the server ended it", 1006: "the network or the server dropped it",
                 1009: "a message was too large", 1011: "the server failed" };
function plainClose(reason) {
  const code = /closed \((\d+)\)/.exec(reason)?.[1];
  return CLOSES[code] || reason;
}
