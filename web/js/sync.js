// One websocket to the message router, kept open, running the client algorithm of docs/protocol.md exactly: join
// (or resume from the last applied sequence), ops applied strictly in sequence order (duplicates ignored, gaps
// filled with `history`), a heartbeat, and an outbox whose ops carry op ids (one stored once however often sent).

import { EARLIER } from "./chat_history.js";
import { applyOp } from "./items.js";
import { Outbox, RESEND_AFTER, retryDelay } from "./outbox.js";
import { expiresAt } from "./session.js";

const SILENCE_MS = 20_000; // after a heartbeat, this long without any message at all: the connection is dead
const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];
const RECENT_CHAT = 100; // ops before the joined state whose chat lines are fetched for context
// Ops posted in parallel arrive out of order and most gaps close within ms: wait this long before `history`
const GAP_GRACE_MS = 250; // (docs/protocol.md, step 4), or every client of a busy workspace reads the log each time

export class WorkspaceSync extends EventTarget {
  constructor({ url, token, workspace, me }) {
    super();
    Object.assign(this, { url, token, workspace, me });
    this.applied = null; // the highest sequence applied, with every one below it applied too
    this.items = new Map(); // item_id -> {item_id, kind, fields, version}
    this.chats = new Map(); // seq -> chat op (applied ones, and recent ones from before the join)
    this.pending = new Map(); // ops received but not applied yet (before the welcome, or past a gap)
    this.box = new Outbox((message) => this.send(message), { // kept in the browser too, per person
      user: me, workspace, ready: () => this.welcomed, changed: () => this.emit("outbox", {}) });
    Object.assign(this, { role: null, heartbeatMs: 18_000, ws: null, welcomed: false, attempt: 0, closed: false });
    Object.assign(this, { historyAsked: false, chatFrom: 0 }); // chatFrom: chat is held after it (chat_history.js)
    window.addEventListener("offline", () => this.drop("the browser went offline"));
    window.addEventListener("online", () => this.reconnectNow());
  }

  start() { this.open(); }

  stop() { this.closed = true; this.box.close(); this.drop("closed"); }

  // --- connection (steps 1 and 3) ----------------------------------------------------------------------
  open() {
    if (this.closed || this.ws) return;
    if (expiresAt(this.token) <= Date.now()) { // a refused upgrade would tell the page nothing
      this.closed = true;
      return this.emit("connection", { state: "expired", reason: "the sign-in has expired" });
    }
    if (!navigator.onLine) return this.emit("connection", { state: "offline", reason: "the browser is offline" });
    const query = new URLSearchParams({ token: this.token, workspace: this.workspace });
    const ws = (this.ws = new WebSocket(`${this.url}/?${query}`));
    let opened = false;
    ws.onopen = () => { opened = true; this.join(); };
    ws.onmessage = (event) => this.receive(JSON.parse(event.data));
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.drop(`closed (${event.code})`);
      // A browser is not told why an upgrade was refused (1006, whatever the status): the REST API says
      // whether this member's access ended (a removal) rather than the network or the server failing.
      if (!opened || event.code === 1000) this.checkAccess?.().then((why) => why && this.removed(why));
    };
    ws.onerror = () => {}; // a close always follows; the banner says what happened
  }

  join() {
    this.welcomed = false;
    this.send({ action: "join", id: "join", workspace: this.workspace,
                ...(this.applied === null ? {} : { since: this.applied }) });
  }

  drop(reason) {
    const ws = this.ws;
    this.ws = null;
    this.welcomed = this.historyAsked = false;
    clearInterval(this.heartbeat);
    clearTimeout(this.pongTimer); clearTimeout(this.gapTimer); this.pongTimer = this.gapTimer = null;
    this.box.unsendAll(); // sent again, same op id, after the next welcome
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      try { ws.close(); } catch { /* already closing */ }
    }
    if (this.closed) return;
    const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)] * (0.75 + Math.random() / 2);
    this.attempt += 1;
    this.emit("connection", { state: navigator.onLine ? "reconnecting" : "offline", reason, delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  // No longer a member (removed, the workspace deleted): nothing to reconnect to, and ops never stored (shown to
  // copy; `refused`: the one whose refusal said so).
  removed(why = "removed", refused = null) {
    if (this.closed) return;
    this.closed = true;
    for (const op of [refused, ...this.box.close(why === "removed")].filter(Boolean)) {
      this.emit("error", { code: "not_member", message: "you are no longer a member of this workspace", op });
    }
    this.drop(why);
    this.emit("connection", { state: why === "signed-out" ? "expired" : "removed", reason: why });
  }

  reconnectNow() { if (!this.ws && !this.closed) { clearTimeout(this.retryTimer); this.open(); } }

  send(message) {
    const open = this.ws?.readyState === WebSocket.OPEN;
    if (open) this.ws.send(JSON.stringify(message));
    return open;
  }

  startHeartbeat() {
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      this.send({ action: "ping", id: "heartbeat", workspace: this.workspace });
      if (!this.pongTimer) this.pongTimer = setTimeout(() => this.drop("no answer to the heartbeat"), SILENCE_MS);
    }, this.heartbeatMs);
  }

  // --- what the server says ---------------------------------------------------------------------------
  receive(msg) {
    clearTimeout(this.pongTimer); this.pongTimer = null; // anything at all says the connection is alive
    switch (msg.action) {
      case "welcome": return this.welcome(msg);
      case "state": return this.statePage(msg);
      case "op": this.feed([msg.op]); return msg.progress ? this.emit("progress", msg) : undefined; // status on its op
      case "ack": return this.acked(msg);
      case "history":
        if (msg.id === EARLIER) return this.emit("earlier-chat", msg); // chat_history.js
        this.historyAsked = false;
        this.feed(msg.ops);
        return msg.more ? this.askHistory() : undefined;
      case "pong": return this.pong(msg);
      case "presence": return this.emit("presence", msg);
      case "presence.list":
        this.emit("presence-more", msg);
        if (msg.presence_more) this.send({ action: "presence.list", workspace: this.workspace, after: msg.presence_next });
        return undefined;
      case "progress": return this.emit("progress", msg);
      case "error": return this.failed(msg);
      default:
        // API Gateway's own answer when the function failed: no action, no id. What is outstanding is unknown.
        if (msg.message === "Internal server error") return this.retryOutstanding();
        return undefined;
    }
  }

  // Step 2.
  welcome(msg) {
    this.attempt = 0;
    this.role = msg.role;
    this.heartbeatMs = msg.heartbeat_ms || this.heartbeatMs;
    this.emit("connection", { state: "connected" });
    this.emit("presence-all", msg);
    if (msg.presence_more) this.send({ action: "presence.list", workspace: this.workspace, after: msg.presence_next });
    this.startHeartbeat();
    if (msg.state) {
      if (msg.reset) this.chats.clear();
      this.items = new Map();
      this.loading = { seq: msg.state.seq };
      return this.statePage(msg.state);
    }
    this.welcomed = true;
    this.feed(msg.ops || []);
    if (msg.more) this.askHistory();
    return this.ready();
  }

  statePage(page) {
    if (!this.loading || page.seq !== this.loading.seq) return undefined;
    for (const item of page.items) this.items.set(item.item_id, item);
    if (page.more) {
      return this.send({ action: "state", id: "state", workspace: this.workspace, seq: this.loading.seq,
                         after: page.next });
    }
    const fresh = this.applied === null || this.chats.size === 0;
    this.applied = this.loading.seq;
    if (fresh) this.chatFrom = Math.max(0, this.applied - RECENT_CHAT);
    this.loading = null;
    this.welcomed = true;
    for (const seq of [...this.pending.keys()]) if (seq <= this.applied) this.pending.delete(seq);
    this.emit("items", { all: true });
    if (fresh && this.applied > 0) {
      // The chat just before the join, for context (its ops are already in the state).
      this.send({ action: "history", id: "history", workspace: this.workspace,
                  after: Math.max(0, this.applied - RECENT_CHAT), limit: RECENT_CHAT });
      this.historyAsked = true;
    }
    this.feed([]);
    return this.ready();
  }

  // After a welcome is handled: step 6, the outbox goes out again, in order, with the same op ids.
  ready() {
    this.box.sendUnsent();
    return this.emit("outbox", {});
  }

  pong(msg) {
    // An owner changed this member's role since the join: the page's controls follow.
    if (msg.role && this.role !== null && msg.role !== this.role) this.emit("role", { role: (this.role = msg.role) });
    if (!this.welcomed || typeof msg.latest_seq !== "number") return;
    if (msg.latest_seq < this.applied) {
      // Maybe a reset log, maybe a pong read just before ops that reached us first: resume from what we have
      // (protocol step 3); a reset log answers the resume with `reset: true` and a state, handled in welcome.
      this.join();
    } else if (msg.latest_seq > this.applied) {
      this.askHistory();
    }
  }

  // --- ops, strictly in sequence order (step 4) ---------------------------------------------------------
  feed(ops) {
    let changedItems = false, changedChat = false, changedOutbox = false;
    for (const op of ops) {
      // One of ours whose ack was lost (read in `history`): it was stored, so it leaves the outbox.
      if (op.by === this.me && op.op_id && this.box.acked(op.op_id)) changedOutbox = true;
      if (this.welcomed && op.seq <= this.applied) {
        // Already applied (a duplicate), or chat from before the join: only chat lines are added.
        if (op.kind === "chat" && !this.chats.has(op.seq)) { this.chats.set(op.seq, op); changedChat = true; }
        continue;
      }
      this.pending.set(op.seq, op);
    }
    if (!this.welcomed) return;
    while (this.pending.has(this.applied + 1)) {
      const op = this.pending.get(this.applied + 1);
      this.pending.delete(op.seq);
      this.applied = op.seq;
      if (op.kind === "chat") { this.chats.set(op.seq, op); changedChat = true; } else { applyOp(this.items, op); changedItems = true; }
    }
    if (changedChat) this.emit("chat", {});
    if (changedItems) this.emit("items", {});
    if (changedOutbox) this.emit("outbox", {});
    if (this.pending.size) this.askHistorySoon();
  }

  askHistorySoon() {
    if (this.gapTimer) return;
    this.gapTimer = setTimeout(() => { this.gapTimer = null; if (this.pending.size) this.askHistory(); }, GAP_GRACE_MS);
  }

  askHistory() {
    if (this.historyAsked || !this.welcomed) return;
    this.historyAsked = true;
    this.send({ action: "history", id: "history", workspace: this.workspace, after: this.applied, limit: 200 });
  }

  // --- what this client writes (step 6): the outbox (outbox.js) --------------------------------------------
  acked(msg) {
    if (this.box.acked(msg.id)) this.emit("outbox", {});
    this.feed([msg.op]);
  }

  failed(msg) {
    if (msg.id === EARLIER) return this.emit("earlier-chat", msg);
    const code = msg.error?.code;
    const entry = msg.id ? this.box.entries.find((e) => e.opId === msg.id) : null;
    const outcome = this.box.failed(msg, () => this.welcomed);
    if (outcome === "retrying") return;
    if (outcome === "dropped") this.emit("outbox", {});
    if (code === "not_found") return this.removed("removed", outcome === "dropped" ? entry?.body : null); // leave
    if (msg.id === "heartbeat") {
      // Not in the workspace any more (it left, or was never put back): join again from where it was.
      if (code === "not_joined") this.join();
      return;
    }
    if (code === "role_too_low") this.send({ action: "ping", id: "heartbeat", workspace: this.workspace }); // the role now
    if (msg.id === "history" || msg.id === "state" || msg.id === "join") {
      // A read refused for a moment (rate_limited, busy): ask again; anything else is shown.
      this.historyAsked = false;
      if (RESEND_AFTER.has(code)) {
        setTimeout(() => (msg.id === "history" ? this.askHistory() : this.join()), retryDelay(msg.error));
        return;
      }
    }
    // `op`: what this client wrote, when the refusal dropped it (refusals.js keeps the text typed in it).
    this.emit("error", { code, message: msg.error?.message || "the server refused a message",
                         op: outcome === "dropped" ? entry?.body : null });
  }

  retryOutstanding() {
    this.historyAsked = false;
    if (this.loading) this.join(); // a state page was lost: start the join again
    if (this.box.unsendAll(true)) setTimeout(() => this.ready(), 1000);
  }

  submit(body) {
    const entry = this.box.add({ ...body, workspace: this.workspace });
    if (this.welcomed) this.box.transmit(entry);
    this.emit("outbox", {});
    return entry;
  }

  get outbox() { return this.box.entries; }

  chat(text) { return this.submit({ action: "chat", text }); }
  createItem(item_id, kind, fields) { return this.submit({ action: "item.create", item_id, kind, fields }); }
  // `version`: the item's version a change was made from; refused (`conflict`) if another op changed it since.
  updateItem(item_id, fields, version = null) {
    return this.submit({ action: "item.update", item_id, fields, ...(version ? { if_version: version } : {}) });
  }
  deleteItem(item_id, version = null) { return this.submit({ action: "item.delete", item_id, ...(version ? { if_version: version } : {}) }); }

  presence(body) { return this.welcomed && this.send({ action: "presence", workspace: this.workspace, ...body }); }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }
}
