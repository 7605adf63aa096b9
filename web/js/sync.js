// One websocket to the message router, kept open: join, resume from the last applied sequence after a drop,
// ops applied strictly in sequence order (duplicates ignored, gaps filled with `history`), heartbeats, and an
// outbox so nothing typed while offline is lost or sent twice. Protocol: docs/protocol.md.

const HEARTBEAT_MS = 30_000;
const PONG_TIMEOUT_MS = 10_000;
const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];

// A refused websocket upgrade tells the page nothing: notice an expired token before trying.
function expired(token) {
  try {
    const claims = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return typeof claims.exp === "number" && claims.exp * 1000 < Date.now();
  } catch {
    return false; // not a JWT: let the server decide
  }
}

export class WorkspaceSync extends EventTarget {
  constructor({ url, token, workspace, me }) {
    super();
    Object.assign(this, { url, token, workspace, me });
    this.lastSeq = null; // the highest sequence applied, with nothing missing below it
    this.items = new Map(); // item_id -> {item_id, kind, fields}
    this.chats = new Map(); // seq -> chat op
    this.ahead = new Map(); // ops received past a gap, by sequence
    this.outbox = []; // {id, action, body, text?}: not yet acknowledged, in the order they were made
    this.claimed = new Set(); // sequences of my chats already matched to an outbox entry after a drop
    this.role = null;
    this.ws = null;
    this.connected = false;
    this.attempt = 0;
    this.nextId = 1;
    this.historyAsked = false;
    this.closed = false;
    window.addEventListener("offline", () => this.drop("the browser went offline"));
    window.addEventListener("online", () => this.reconnectNow());
  }

  start() { this.open(); }

  stop() {
    this.closed = true;
    this.drop("closed");
  }

  // --- connection -------------------------------------------------------------------------------------
  open() {
    if (this.closed || this.ws) return;
    if (expired(this.token)) {
      this.closed = true;
      return this.emit("connection", { state: "expired", reason: "the sign-in has expired" });
    }
    if (!navigator.onLine) return this.emit("connection", { state: "offline", reason: "the browser is offline" });
    const query = new URLSearchParams({ token: this.token, workspace: this.workspace });
    const ws = (this.ws = new WebSocket(`${this.url}/?${query}`));
    ws.onopen = () => this.send({ action: "join", workspace: this.workspace,
                                  ...(this.lastSeq === null ? {} : { since: this.lastSeq }) });
    ws.onmessage = (event) => this.receive(JSON.parse(event.data));
    ws.onclose = (event) => { if (this.ws === ws) this.drop(`closed (${event.code})`); };
    ws.onerror = () => {}; // a close always follows; the banner says what happened
  }

  drop(reason) {
    const ws = this.ws;
    this.ws = null;
    this.connected = false;
    this.historyAsked = false;
    clearTimeout(this.heartbeat);
    clearTimeout(this.pongTimer);
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

  reconnectNow() {
    if (this.ws || this.closed) return;
    clearTimeout(this.retryTimer);
    this.open();
  }

  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  beat() {
    clearTimeout(this.heartbeat);
    this.heartbeat = setTimeout(() => {
      this.send({ action: "ping", workspace: this.workspace });
      this.pongTimer = setTimeout(() => this.drop("no answer to the heartbeat"), PONG_TIMEOUT_MS);
    }, HEARTBEAT_MS);
  }

  // --- what the server says ---------------------------------------------------------------------------
  receive(msg) {
    this.beat();
    switch (msg.action) {
      case "welcome": return this.welcome(msg);
      case "op": return this.feed([msg.op]);
      case "ack": return this.acked(msg);
      case "history":
        this.historyAsked = false;
        this.feed(msg.ops, msg.more);
        return this.settle(msg.more);
      case "pong":
        clearTimeout(this.pongTimer);
        if (this.lastSeq !== null && msg.latest_seq > this.lastSeq) this.askHistory();
        return;
      case "presence": return this.emit("presence", msg);
      case "progress": return this.emit("progress", msg);
      case "error": return this.failed(msg);
      default: return undefined;
    }
  }

  welcome(msg) {
    const fresh = this.lastSeq === null;
    this.connected = true;
    this.attempt = 0;
    this.role = msg.role;
    this.emit("connection", { state: "connected" });
    this.emit("presence-all", msg);
    if (fresh) {
      this.lastSeq = msg.state.seq;
      for (const item of msg.state.items) this.items.set(item.item_id, item);
      this.emit("items", { all: true });
      // Recent chat, for context: ops at or below the state's sequence only add chat lines.
      this.send({ action: "history", workspace: this.workspace, after: Math.max(0, this.lastSeq - 100), limit: 100 });
      this.historyAsked = true;
      return this.settle(false);
    }
    this.feed(msg.ops || [], msg.more);
    return this.settle(Boolean(msg.more));
  }

  // After a (re)join or a history page: once caught up, send what is still unconfirmed.
  settle(more) {
    if (more || this.ahead.size) return this.askHistory();
    if (!this.connected) return undefined;
    for (const entry of this.outbox) {
      if (entry.sentOn === this.ws) continue;
      if (this.delivered(entry)) continue;
      entry.sentOn = this.ws;
      this.send({ ...entry.body, id: entry.id });
    }
    this.outbox = this.outbox.filter((e) => !e.done);
    return this.emit("outbox", {});
  }

  // A message sent before a drop whose ack never came may still have reached the router: look for it.
  delivered(entry) {
    if (!entry.sentOn) return false;
    if (entry.body.action === "chat") {
      for (const [seq, op] of this.chats) {
        if (seq > entry.baseSeq && op.by === this.me && op.data.text === entry.body.text && !this.claimed.has(seq)) {
          this.claimed.add(seq);
          entry.done = true;
          return true;
        }
      }
      return false;
    }
    if (entry.body.action === "item.create" && this.items.has(entry.body.item_id)) {
      entry.done = true; // updates and deletes are safe to repeat: the same value again changes nothing
      return true;
    }
    return false;
  }

  askHistory() {
    if (this.historyAsked || !this.connected) return;
    this.historyAsked = true;
    this.send({ action: "history", workspace: this.workspace, after: this.lastSeq, limit: 100 });
  }

  acked(msg) {
    const entry = this.outbox.find((e) => e.id === msg.id);
    if (entry) {
      entry.done = true;
      this.outbox = this.outbox.filter((e) => e !== entry);
      if (entry.body.action === "chat") this.claimed.add(msg.seq);
      this.emit("outbox", {});
    }
    this.feed([msg.op]);
  }

  failed(msg) {
    const entry = msg.id && this.outbox.find((e) => e.id === msg.id);
    const code = msg.error?.code;
    if (entry && code === "rate_limited") {
      entry.sentOn = null;
      setTimeout(() => this.settle(false), 1000);
      return;
    }
    if (entry) {
      this.outbox = this.outbox.filter((e) => e !== entry);
      this.emit("outbox", {});
    }
    this.emit("error", { code, message: msg.error?.message || "the server refused a message" });
  }

  // --- ops, strictly in sequence order ----------------------------------------------------------------
  feed(ops, more = false) {
    let changedItems = false;
    let changedChat = false;
    for (const op of ops) {
      if (op.seq <= this.lastSeq) {
        // Already applied (a duplicate), or chat from before this client joined: only chat lines are added.
        if (op.kind === "chat" && !this.chats.has(op.seq)) { this.chats.set(op.seq, op); changedChat = true; }
        continue;
      }
      this.ahead.set(op.seq, op);
    }
    while (this.ahead.has(this.lastSeq + 1)) {
      const op = this.ahead.get(this.lastSeq + 1);
      this.ahead.delete(op.seq);
      this.lastSeq = op.seq;
      if (op.kind === "chat") { this.chats.set(op.seq, op); changedChat = true; } else { this.apply(op); changedItems = true; }
    }
    if (changedChat) this.emit("chat", {});
    if (changedItems) this.emit("items", {});
    if (this.ahead.size && !more) this.askHistory();
  }

  apply(op) {
    const { item_id: id, fields } = op.data;
    const item = this.items.get(id);
    if (op.kind === "item.create") {
      this.items.set(id, { item_id: id, kind: op.data.kind, fields: { ...(item?.fields || {}), ...fields } });
    } else if (op.kind === "item.update" && item) {
      item.fields = { ...item.fields, ...fields };
    } else if (op.kind === "item.delete") {
      this.items.delete(id);
    }
  }

  // --- what this client does --------------------------------------------------------------------------
  submit(body) {
    const entry = { id: `c${this.nextId++}`, body: { ...body, workspace: this.workspace }, baseSeq: this.lastSeq ?? 0 };
    this.outbox.push(entry);
    if (this.connected && this.send({ ...entry.body, id: entry.id })) entry.sentOn = this.ws;
    this.emit("outbox", {});
    return entry;
  }

  chat(text) { return this.submit({ action: "chat", text }); }

  createItem(item_id, kind, fields) { return this.submit({ action: "item.create", item_id, kind, fields }); }

  updateItem(item_id, fields) { return this.submit({ action: "item.update", item_id, fields }); }

  presence(body) { return this.connected && this.send({ action: "presence", workspace: this.workspace, ...body }); }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }
}
