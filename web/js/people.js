// Who is here and where each of them looks: the members online (from presence), each with a description of
// their view, a button to fly there and one to follow them (your view then moves with theirs until you move
// it yourself). Their viewports are drawn on the landscape by overlays.js.

import { $, announce, button, colourOf, el } from "./dom.js";

export class People {
  constructor(ws) {
    this.ws = ws;
    this.connections = new Map(); // connection -> {connection, user, presence}
    this.following = null; // user id
    this.away = false; // this page's connection is down: nobody's presence is known until the next welcome
    ws.landscape.addEventListener("user-moved", () => { if (!$("following").hidden) this.follow(null); });
    $("stop-following").onclick = () => this.follow(null);
  }

  replaceAll(list) {
    this.away = false;
    this.connections.clear();
    this.add(list);
  }

  // The connection dropped: who was online then is not known now (an outside tester saw "2 online" and "same
  // view as you" under the "Connection lost" banner). The welcome that ends it lists them again; whom this page
  // follows stays followed, if they are still there.
  lost() {
    this.away = true;
    this.connections.clear();
    this.render();
  }

  add(list) {
    for (const p of list) this.connections.set(p.connection, p);
    this.render();
  }

  update({ connection, user, presence }) {
    if (presence.status === "offline") this.connections.delete(connection);
    else this.connections.set(connection, { connection, user, presence });
    if (user === this.following && presence.viewport) this.ws.landscape.showView(presence.viewport);
    this.render();
  }

  render() {
    // The person followed has left (their last connection went): there is nobody to follow any more.
    if (this.following && !this.away && ![...this.connections.values()].some((p) => p.user === this.following)) {
      this.follow(null, this.following);
    }
    this.show();
  }

  // Each user's latest view (a person with two windows shows the one that last moved).
  views() {
    const views = new Map();
    for (const { user, presence } of this.connections.values()) {
      if (!views.has(user) || presence?.viewport) views.set(user, presence?.viewport || views.get(user) || null);
    }
    return views;
  }

  describe(view) {
    if (!view) return "no view yet";
    // A view over several whole documents (fitted to the landscape, say) is over none in particular.
    const whole = this.ws.landscape.documentsWithin(view);
    if (whole > 1) return `looking at ${whole} documents`;
    const at = this.ws.landscape.documentAt({ x: view.x + view.w / 2, y: view.y + view.h / 2 });
    if (!at) return "looking at the landscape";
    return at.page === undefined ? `looking at ${at.name}` : `looking at ${at.name}, page ${at.page + 1}`;
  }

  show() {
    const me = this.ws.me.user_id;
    const views = this.views();
    const gone = this.ws.sync.closed || this.away; // removed, signed out or disconnected: nobody's presence known
    const users = gone ? [] : [...new Set([me, ...views.keys()])].sort((a, b) => (a === me ? -1 : b === me ? 1 : a.localeCompare(b)));
    const focusedUser = document.activeElement?.closest?.("#people li")?.dataset.user;
    const focusedClass = document.activeElement?.className;
    $("people").replaceChildren(...users.map((user) => {
      const item = el("li");
      item.dataset.user = user;
      const chip = el("span", "chip", user === me ? `${user} (you)` : user);
      chip.style.background = colourOf(user);
      item.append(chip, el("span", "where", user === me ? "" : this.describe(views.get(user))));
      if (user !== me) {
        const view = views.get(user);
        const go = button("Go to", () => this.goTo(user), { className: "go", label: `Go to ${user}'s view` });
        const follow = button(this.following === user ? "Following" : "Follow", () => this.follow(this.following === user ? null : user),
                              { className: "follow", label: `Follow ${user}`, pressed: this.following === user });
        go.disabled = follow.disabled = !view;
        item.append(el("span", "actions"));
        item.lastChild.append(go, follow);
      }
      return item;
    }));
    if (focusedUser) $("people").querySelector(`li[data-user="${CSS.escape(focusedUser)}"] .${focusedClass}`)?.focus();
    $("people-count").textContent = gone ? "(not connected)" : `(${users.length} online)`;
    this.ws.overlays && this.showBoxes();
  }

  showBoxes() {
    const shown = new Set();
    for (const [connection, { user, presence }] of this.connections) {
      if (user === this.ws.me.user_id || !presence?.viewport) continue;
      shown.add(connection);
      this.ws.overlays.showPresence(connection, user, presence.viewport);
    }
    for (const connection of this.ws.overlays.presences.keys()) {
      if (!shown.has(connection)) this.ws.overlays.showPresence(connection, "", null);
    }
  }

  goTo(user) {
    const view = this.views().get(user);
    if (view) this.ws.landscape.showView(view);
  }

  // `left`: the person followed left. The bar says so, where it said "Following" (not only to screen readers),
  // until it is dismissed, or the view is moved, or someone else is followed.
  follow(user, left = null) {
    const was = this.following;
    this.following = user;
    const bar = $("following");
    bar.hidden = !user && !left;
    bar.dataset.ended = left ? "true" : "false";
    $("following-text").replaceChildren(...(user ? ["Following ", el("b", "", user)]
      : left ? [el("b", "", left), " left: you are no longer following"] : []));
    $("stop-following").textContent = left ? "OK" : "Stop following";
    if (user) { this.goTo(user); announce(`Following ${user}`); }
    else if (left) announce(`${left} left: you are no longer following`);
    else if (was) announce("Not following anyone");
    this.render();
  }
}
