// The outbox kept in the browser (localStorage), so ops written and not answered yet outlive the page: a tab
// closed (or crashed, or reloaded) with a note or a chat line still "sending" hands it to the next page the same
// person opens on the same workspace, which sends it after its welcome with the same op id. An op id stored once
// is answered as a duplicate ever after (docs/protocol.md), so an op sent by two pages is still stored once.
//
// Each page keeps its own record (several tabs may be open at once), stamped every few seconds while it lives and
// marked closed when it goes away; every open page takes over, at once and then at each stamp, the records of
// pages that are closed or have not been stamped for a while (a crash; a browser killed may also lose the last
// few seconds of what it wrote, so a record's stamp is never trusted to say "closed"). Records are per person:
// another person on the same browser never sends them, and signing out forgets only the signer's.

const PREFIX = "kalexo.outbox.";
const STAMP_MS = 5_000;
const STALE_MS = 30_000; // a record not stamped for this long belongs to a page that is gone

function newId() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
}

function read(key) {
  try { return JSON.parse(localStorage.getItem(key)); } catch { return null; }
}

function write(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch { /* storage full or refused: the page still holds its outbox, as before */ }
}

function keys() {
  try { return Object.keys(localStorage).filter((key) => key.startsWith(PREFIX)); } catch { return []; }
}

// Records of `user` in this browser, each [key, record].
function recordsOf(user) {
  return keys().map((key) => [key, read(key)]).filter(([, record]) => record?.user === user);
}

// How many ops `user`'s pages of this browser hold unsent, open pages' and closed ones', in any workspace.
export function keptCount(user) {
  return recordsOf(user).reduce((sum, [, record]) => sum + (record.entries?.length || 0), 0);
}

// `user`'s kept ops dropped from this browser (sign-out).
export function forgetOutboxes(user) {
  for (const [key] of recordsOf(user)) write(key, null);
}

// The ops `user` left unsent in workspaces they are no longer a member of (`memberOf`: the ids they are in):
// they can never be stored, and no page of those workspaces will open to send them. Their records are deleted
// and their bodies returned, for the page to show what was lost.
export function orphans(user, memberOf) {
  const gone = (record) => record.closed || Date.now() - (record.at || 0) >= STALE_MS; // an open page says itself
  const lost = recordsOf(user).filter(([, r]) => r.workspace && !memberOf.has(r.workspace) && gone(r));
  for (const [key] of lost) write(key, null);
  return lost.flatMap(([, record]) => (record.entries || []).map((e) => e.body).filter(Boolean));
}

export class OutboxStore {
  // `onAdopt(entries)`: ops of gone pages taken over, [{opId, body}] in the order they were made.
  constructor(user, workspace, onAdopt) {
    Object.assign(this, { user, workspace, onAdopt });
    this.base = `${PREFIX}${encodeURIComponent(workspace)}.${encodeURIComponent(user)}.`;
    this.key = `${this.base}${newId()}`;
    this.entries = []; // what was last written: [{opId, body}]
    this.timer = setInterval(() => { this.stamp(); this.adoptNow(); }, STAMP_MS);
    this.onHide = () => this.stamp(true);
    window.addEventListener("pagehide", this.onHide);
  }

  // The ops of this person's gone pages on this workspace, oldest record first, handed to `onAdopt`; their
  // records are deleted (the ops are in this page's own from then on).
  adoptNow() {
    const now = Date.now();
    const found = [];
    for (const key of keys()) {
      if (!key.startsWith(this.base) || key === this.key) continue;
      const record = read(key);
      if (record && !record.closed && now - (record.at || 0) < STALE_MS) continue; // its page is open
      if (Array.isArray(record?.entries)) found.push(record);
      write(key, null);
    }
    if (!found.length) return;
    found.sort((a, b) => (a.made || 0) - (b.made || 0));
    const seen = new Set();
    this.onAdopt(found.flatMap((record) => record.entries)
      .filter((e) => typeof e?.opId === "string" && e.body && !seen.has(e.opId) && seen.add(e.opId)));
  }

  // The outbox as it is now (an empty one leaves no record).
  save(entries) {
    this.entries = entries.map(({ opId, body }) => ({ opId, body }));
    this.made = this.entries.length ? this.made || Date.now() : null;
    this.stamp();
  }

  stamp(closed = false) {
    if (this.closed) return;
    write(this.key, this.entries.length
      ? { user: this.user, workspace: this.workspace, at: Date.now(), made: this.made, closed, entries: this.entries } : null);
  }

  // This page stops keeping it (another workspace opened in its place); `drop`: the ops are thrown away too.
  close(drop = false) {
    clearInterval(this.timer);
    window.removeEventListener("pagehide", this.onHide);
    if (drop) this.entries = [];
    this.stamp(true);
    this.closed = true;
  }
}
