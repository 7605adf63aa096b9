// Sign in, pick a workspace, then wire the landscape, documents, presence, notes and chat together.

import { Api } from "./api.js";
import { colourOf, Landscape } from "./landscape.js";
import { WorkspaceSync } from "./sync.js";

const $ = (id) => document.getElementById(id);
const PRESENCE_EVERY_MS = 250;
const TOKEN_KEY = "kalexo.token";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function showError(message) {
  const item = el("li", "", message);
  $("errors").append(item);
  setTimeout(() => item.remove(), 15_000);
}

async function boot() {
  const config = await (await fetch("config.json")).json();
  // The AGPL's offer of the running version's source, where the deployment put it.
  for (const link of document.querySelectorAll(".source-link")) link.href = config.source || "source.tar.gz";
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return signIn(config);
  const api = new Api(config.api, token);
  let me;
  try {
    me = await api.get("/me");
  } catch (error) {
    sessionStorage.removeItem(TOKEN_KEY);
    return signIn(config, `Signing in failed: ${error.message}`);
  }
  const workspaces = await api.all("/me/workspaces");
  if (!workspaces.length) return signIn(config, `${me.name} is not a member of any workspace.`);
  const wanted = new URLSearchParams(location.hash.slice(1)).get("workspace");
  const current = workspaces.find((w) => w.workspace_id === wanted) || workspaces[0];
  const select = $("workspace-select");
  for (const w of workspaces) select.append(new Option(`${w.name} (${w.role})`, w.workspace_id));
  select.value = current.workspace_id;
  select.onchange = () => { location.hash = `workspace=${select.value}`; location.reload(); };
  $("signout").onclick = () => { sessionStorage.removeItem(TOKEN_KEY); location.hash = ""; location.reload(); };
  $("me").textContent = me.name;
  $("app").hidden = false;
  return new Workspace(config, api, me, current).start();
}

async function signIn(config, message) {
  $("signin").hidden = false;
  if (message) Object.assign($("signin-error"), { hidden: false, textContent: message });
  const use = (token) => { sessionStorage.setItem(TOKEN_KEY, token.trim()); location.reload(); };
  $("token-form").onsubmit = (event) => { event.preventDefault(); if ($("token-input").value.trim()) use($("token-input").value); };
  if (!config.dev_users) return;
  const users = await (await fetch(config.dev_users)).json();
  for (const user of users) {
    const role = user.workspace_role ? `${user.workspace_role}` : user.role;
    const button = el("button", "", `${user.user_id} (${role})`);
    button.type = "button";
    button.dataset.user = user.user_id;
    button.onclick = () => use(user.token);
    $("dev-user-buttons").append(button);
  }
  $("dev-users").hidden = false;
}

class Workspace {
  constructor(config, api, me, workspace) {
    Object.assign(this, { config, api, me, id: workspace.workspace_id, role: workspace.role });
    this.manifests = new Map(); // document_id -> the document's manifest (its finished pages)
    this.live = new Map(); // document_id -> the latest live progress (pages done), between logged statuses
    this.refreshing = new Map(); // document_id -> "running" | "again"
    this.people = new Map(); // connection -> {user, presence}
    this.landscape = new Landscape($("viewer"));
    this.sync = new WorkspaceSync({ url: config.websocket, token: api.token, workspace: this.id, me: me.user_id });
  }

  start() {
    this.wireSync();
    this.wireViewer();
    this.wireForms();
    this.sync.start();
  }

  // --- documents: items of the shared state, pages from their manifests -------------------------------
  // Documents and where they sit come with the workspace's state and ops (docs/protocol.md), so a member back
  // from offline sees what changed when the resume applies, and everyone sees the same places.
  documents() {
    const docs = [];
    for (const item of this.sync.items.values()) {
      if (item.kind !== "document") continue;
      const id = item.fields.document_id;
      const place = this.sync.items.get(`place:${id}`);
      const manifest = this.manifests.get(id);
      const live = this.live.get(id);
      const doc = { ...item.fields, pages: manifest && manifest.job_id === item.fields.job_id ? manifest.pages : [] };
      if (live && live.job_id === doc.job_id && doc.status === "tiling") doc.pages_done = live.pages_done;
      if (place) doc.origin = { x: Number(place.fields.x) || 0, y: Number(place.fields.y) || 0 };
      docs.push(doc);
    }
    return docs.sort((a, b) => (a.origin?.y ?? 0) - (b.origin?.y ?? 0) || a.document_id.localeCompare(b.document_id));
  }

  onItems() {
    const docs = this.documents();
    for (const doc of docs) {
      const manifest = this.manifests.get(doc.document_id);
      const wanted = (doc.status === "tiling" || doc.status === "ready") &&
        (!manifest || manifest.job_id !== doc.job_id || (doc.status === "ready" && manifest.pages.length < doc.page_count));
      if (wanted) this.refresh(doc.document_id);
    }
    for (const id of [...this.manifests.keys()]) if (!docs.some((d) => d.document_id === id)) this.manifests.delete(id);
    this.renderDocuments(docs);
    this.renderNotes();
  }

  async refresh(documentId) {
    if (this.refreshing.has(documentId)) { this.refreshing.set(documentId, "again"); return; }
    this.refreshing.set(documentId, "running");
    try {
      this.manifests.set(documentId, await this.api.get(`/workspaces/${this.id}/documents/${documentId}`));
      this.renderDocuments(this.documents());
    } catch (error) {
      if (error.status !== 404) showError(`Could not read a document: ${error.message}`); // 404: removed meanwhile
    } finally {
      const again = this.refreshing.get(documentId) === "again";
      this.refreshing.delete(documentId);
      if (again) this.refresh(documentId);
    }
  }

  onProgress({ subject, progress }) {
    if (progress.status === "tiling") this.live.set(subject, progress);
    this.renderDocuments(this.documents());
    if (progress.status === "tiling" || progress.status === "ready") this.refresh(subject);
  }

  renderDocuments(docs) {
    this.landscape.setDocuments(docs.filter((d) => d.origin));
    $("drop-hint").hidden = docs.length > 0;
    for (const row of $("uploads").querySelectorAll("li[data-doc]")) {
      if (docs.some((d) => d.document_id === row.dataset.doc)) row.remove(); // listed below from now on
    }
    const list = $("documents");
    list.replaceChildren(...[...docs].sort((a, b) => b.created_at - a.created_at).map((doc) => {
      const item = el("li");
      item.dataset.doc = doc.document_id;
      item.dataset.status = doc.status;
      item.append(el("div", "name", doc.name));
      const total = doc.page_count || 0;
      let status = doc.status;
      if (doc.status === "failed") status = `failed: ${doc.reason || doc.reason_code}`;
      else if (total) status += ` · ${doc.pages_done || 0} of ${total} pages`;
      item.append(el("div", "status", status));
      if (doc.status !== "ready" && doc.status !== "failed" && total) {
        item.append(Object.assign(el("progress"), { max: total, value: doc.pages_done || 0 }));
      }
      item.onclick = () => this.landscape.flyTo(doc.document_id);
      return item;
    }));
  }

  async upload(file) {
    const item = el("li");
    const status = el("div", "status", "asking for an upload…");
    const bar = Object.assign(el("progress"), { max: 1, value: 0 });
    item.append(el("div", "name", file.name), bar, status);
    item.dataset.file = file.name;
    $("uploads").prepend(item);
    try {
      const documentId = await this.api.upload(this.id, file, (fraction) => {
        bar.value = fraction;
        status.textContent = `uploading ${Math.round(fraction * 100)}%`;
      });
      status.textContent = "uploaded: processing";
      item.dataset.doc = documentId; // removed when the document appears in the workspace
      this.renderDocuments(this.documents());
    } catch (error) {
      item.classList.add("failed");
      bar.remove();
      status.textContent = `refused: ${error.message}`;
      showError(`${file.name}: ${error.message}`);
    }
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
      if (detail.state === "expired") banner.textContent = "Your sign-in has expired: sign out and sign in again.";
      else if (detail.state === "offline") banner.textContent = "You are offline: changes are kept and sent when the network returns.";
      else if (detail.state === "reconnecting") {
        banner.textContent = `Connection lost (${detail.reason}): reconnecting in ${Math.ceil(detail.delay / 1000)} s…`;
      }
      if (detail.state === "connected") this.sendView(true);
    });
    sync.addEventListener("presence-all", ({ detail }) => {
      this.people.clear();
      for (const p of detail.presence) this.people.set(p.connection, p);
      this.renderPeople();
    });
    sync.addEventListener("presence-more", ({ detail }) => {
      for (const p of detail.presence) this.people.set(p.connection, p);
      this.renderPeople();
    });
    sync.addEventListener("presence", ({ detail }) => {
      if (detail.presence.status === "offline") this.people.delete(detail.connection);
      else this.people.set(detail.connection, { user: detail.user, presence: detail.presence });
      this.renderPeople();
    });
    sync.addEventListener("progress", ({ detail }) => this.onProgress(detail));
    sync.addEventListener("chat", () => this.renderChat());
    sync.addEventListener("outbox", () => this.renderChat());
    sync.addEventListener("items", () => this.onItems());
    sync.addEventListener("error", ({ detail }) => showError(`${detail.code}: ${detail.message}`));
  }

  renderPeople() {
    const users = new Set([this.me.user_id]);
    for (const { user } of this.people.values()) users.add(user);
    $("people").replaceChildren(...[...users].sort().map((user) => {
      const item = el("li", "", user === this.me.user_id ? `${user} (you)` : user);
      item.dataset.user = user;
      item.style.background = colourOf(user);
      return item;
    }));
    const shown = new Set();
    for (const [connection, { user, presence }] of this.people) {
      if (user === this.me.user_id || !presence?.viewport) continue;
      shown.add(connection);
      this.landscape.showPresence(connection, user, presence.viewport);
    }
    for (const connection of this.landscape.presences.keys()) {
      if (!shown.has(connection)) this.landscape.showPresence(connection, "", null);
    }
  }

  renderChat() {
    const log = $("chat-log");
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    const lines = [...this.sync.chats.values()].sort((a, b) => a.seq - b.seq).map((op) => {
      const line = el("li");
      line.dataset.seq = op.seq;
      line.append(el("b", "", op.by), el("span", "text", op.data.text));
      return line;
    });
    for (const entry of this.sync.outbox.filter((e) => e.body.action === "chat")) {
      const line = el("li", "pending");
      line.append(el("b", "", this.me.user_id), el("span", "text", entry.body.text));
      lines.push(line);
    }
    log.replaceChildren(...lines);
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  renderNotes() {
    const canEdit = this.sync.role !== "viewer" && this.role !== "viewer";
    this.landscape.showNotes([...this.sync.items.values()], canEdit,
                             (id, x, y) => this.sync.updateItem(id, { x, y }));
  }

  // --- the viewer, drops and forms --------------------------------------------------------------------
  wireViewer() {
    this.landscape.addEventListener("view", ({ detail }) => { this.view = detail; this.sendView(false); });
    // Tiles stopped loading (typically an expired tile grant): a fresh manifest brings fresh URLs.
    this.landscape.addEventListener("tiles-failed", ({ detail }) => this.refresh(detail));
    const viewer = $("viewer");
    viewer.addEventListener("dragover", (event) => { event.preventDefault(); viewer.classList.add("dragover"); });
    viewer.addEventListener("dragleave", () => viewer.classList.remove("dragover"));
    viewer.addEventListener("drop", (event) => {
      event.preventDefault();
      viewer.classList.remove("dragover");
      for (const file of event.dataTransfer.files) this.upload(file);
    });
  }

  // Throttled: at most one presence message every PRESENCE_EVERY_MS, always ending with the latest view.
  sendView(now) {
    if (!this.view) return;
    clearTimeout(this.viewTimer);
    const wait = now ? 0 : Math.max(0, (this.viewSentAt || 0) + PRESENCE_EVERY_MS - Date.now());
    this.viewTimer = setTimeout(() => {
      this.viewSentAt = Date.now();
      this.sync.presence({ status: "active", viewport: this.view });
    }, wait);
  }

  wireForms() {
    $("file-input").onchange = (event) => { for (const file of event.target.files) this.upload(file); event.target.value = ""; };
    $("chat-form").onsubmit = (event) => {
      event.preventDefault();
      const text = $("chat-input").value.trim();
      if (text) this.sync.chat(text);
      $("chat-input").value = "";
    };
    $("note-form").onsubmit = (event) => {
      event.preventDefault();
      const text = $("note-input").value.trim();
      if (!text) return;
      const id = `note-${crypto.randomUUID().slice(0, 8)}`;
      this.sync.createItem(id, "note", { text, ...this.landscape.center(), by: this.me.user_id });
      $("note-input").value = "";
    };
    if (this.role === "viewer") for (const id of ["note-input", "file-input"]) $(id).disabled = true;
  }
}

boot().catch((error) => showError(`The page could not start: ${error.message}`));
