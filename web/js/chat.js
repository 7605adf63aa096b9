// Chat: the workspace's chat ops in sequence order, with this browser's unsent lines after them. New lines from
// others are announced to screen readers (the log itself is not a live region: it is redrawn whole).

import { EarlierChat } from "./chat_history.js";
import { $, announce, el, showError } from "./dom.js";
import { tooLong } from "./refusals.js";

const MAX_CHAT = 4000; // characters (code points), as the server counts (docs/protocol.md)

export class Chat {
  constructor(ws) {
    this.ws = ws;
    this.heard = null; // the highest chat sequence announced (null until the first render)
    $("chat-form").onsubmit = (event) => {
      event.preventDefault();
      const text = $("chat-input").value.trim();
      if (tooLong(text, MAX_CHAT, "A message")) return; // kept in the field, to shorten
      if (text) ws.sync.chat(text);
      $("chat-input").value = "";
    };
    this.fromBottom = null; // while earlier lines come in above: the distance kept from the log's end
    this.earlier = new EarlierChat(ws.sync, (error) => this.showEarlier(error));
    $("chat-earlier").onclick = () => {
      const log = $("chat-log");
      this.fromBottom = log.scrollHeight - log.scrollTop; // the lines in view stay in view
      this.earlier.ask();
    };
  }

  showEarlier(error = null) {
    const more = $("chat-earlier");
    more.hidden = !this.earlier.more && !this.earlier.busy;
    more.disabled = this.earlier.busy;
    more.textContent = this.earlier.busy ? "Loading earlier messages…" : "Show earlier messages";
    if (!this.earlier.busy) this.fromBottom = null;
    if (error) showError(`Could not load earlier messages: ${error.message || error.code}`);
  }

  render() {
    const log = $("chat-log");
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    const ops = [...this.ws.sync.chats.values()].sort((a, b) => a.seq - b.seq);
    const lines = ops.map((op) => {
      const line = el("li");
      line.dataset.seq = op.seq;
      line.append(el("b", "", op.by), el("span", "text", op.data.text));
      return line;
    });
    for (const entry of this.ws.sync.outbox.filter((e) => e.body.action === "chat")) {
      const line = el("li", "pending");
      line.append(el("b", "", this.ws.me.user_id), el("span", "text", entry.body.text), el("span", "sending", this.ws.sync.closed ? " (not sent)" : " (sending)"));
      lines.push(line);
    }
    log.replaceChildren(...lines);
    if (this.fromBottom !== null) log.scrollTop = log.scrollHeight - this.fromBottom;
    else if (atBottom) log.scrollTop = log.scrollHeight;
    this.showEarlier();
    const latest = ops.length ? ops[ops.length - 1].seq : 0;
    if (this.heard !== null) {
      for (const op of ops) if (op.seq > this.heard && op.by !== this.ws.me.user_id) announce(`${op.by} says: ${op.data.text}`);
    }
    // Lines at or before the join's state (the recent chat fetched for context) were said before this person
    // came: read, not announced. After a drop, what was said meanwhile is new to them, and is.
    if (this.ws.sync.welcomed) this.heard = Math.max(this.heard ?? this.ws.sync.applied ?? 0, latest);
  }
}
