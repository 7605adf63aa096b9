// Earlier chat, on request ("Show earlier messages"). A page holds the chat of the ops it applied and, from before
// its join, of the last RECENT_CHAT ops only (sync.js): in a workspace busy with documents that can be a few lines,
// where a page open since the morning shows the whole day (an outside tester counted 32 lines in a fresh page and
// 111 in one left open). `history` reads forwards, so the log is read backwards range by range, each range ending
// where the chat held begins, until at least WANT more lines are found or the log's start is reached.

export const EARLIER = "chat-earlier"; // the requests' id: their replies and refusals come back with it
const WANT = 30; // chat lines one press brings, at least (fewer at the log's start)
const SPAN = 200; // ops a range covers (history's largest page; a reply may hold fewer, then the rest is asked)

export class EarlierChat {
  // `onChange(error)`: the button's state changed (asked, done, or refused with `error`).
  constructor(sync, onChange) {
    this.sync = sync;
    this.onChange = onChange;
    this.range = null; // {start, end, at}: ops after `at` up to `end` still to read; then chat is held from `start`
    this.found = 0;
    sync.addEventListener("earlier-chat", ({ detail }) => this.page(detail));
    // A reply lost with its connection never comes: a press after the welcome starts again.
    sync.addEventListener("connection", () => { if (this.range) { this.range = null; this.onChange(); } });
  }

  get more() { return (this.sync.chatFrom ?? 0) > 0; }

  get busy() { return this.range !== null; }

  ask() {
    if (this.busy || !this.more || !this.sync.welcomed) return;
    this.found = 0;
    this.next(this.sync.chatFrom);
  }

  next(end) {
    const start = Math.max(0, end - SPAN);
    this.range = { start, end, at: start };
    this.request();
    this.onChange();
  }

  request() {
    const { at, end } = this.range;
    this.sync.send({ action: "history", id: EARLIER, workspace: this.sync.workspace, after: at, limit: end - at });
  }

  page(msg) {
    const range = this.range;
    if (!range) return;
    if (msg.error || !this.sync.welcomed) {
      this.range = null;
      this.onChange(msg.error || null);
      return;
    }
    const ops = (msg.ops || []).filter((op) => op.seq > range.at && op.seq <= range.end);
    this.found += ops.filter((op) => op.kind === "chat").length;
    this.sync.feed(ops); // all at or before `applied`: only their chat lines are added
    const last = ops.length ? ops[ops.length - 1].seq : range.end; // none: nothing (left) in the range
    if (last < range.end) {
      range.at = last;
      this.request();
      return;
    }
    this.sync.chatFrom = range.start;
    this.range = null;
    if (this.found < WANT && range.start > 0) this.next(range.start);
    else this.onChange();
  }
}
