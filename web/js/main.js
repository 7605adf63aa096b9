// Sign in (one sign-in per browser, kept until the token expires), pick a workspace, then open it.

import { Api } from "./api.js";
import { $, el, showError } from "./dom.js";
import { forgetOutboxes, keptCount, orphans } from "./outbox_store.js";
import { foldablePanels } from "./panels.js";
import { expiresAt, forgetToken, keepToken, onTokenChange, savedToken, signedOut, whenExpired } from "./session.js";
import { Workspace } from "./workspace.js";

let opened = null; // the workspace this page shows
let config = null; // the deployment's (config.json)

// Signing out forgets the person's unsent ops in this browser (kept for their next page otherwise:
// outbox_store.js), this tab's and other tabs' alike, after asking when there are any; a sign-out in another
// tab (`elsewhere`) has asked already. Another person's kept ops stay theirs, and so do the person's own when
// the sign-in had expired (signing in again sends them) or another tab only cleared an expired token.
function signOut(elsewhere = false) {
  const user = opened?.me.user_id;
  const expired = !opened || expiresAt(opened.api.token) <= Date.now();
  const forget = user && !expired && (!elsewhere || signedOut(user));
  const unsent = forget ? keptCount(user) : 0;
  const what = unsent === 1 ? "1 change has" : `${unsent} changes have`;
  if (!elsewhere && unsent && !confirm(`${what} not reached the server yet. Signing out discards ${unsent === 1 ? "it" : "them"}. Sign out?`)) return;
  opened?.sync.box.close(Boolean(forget));
  if (forget) forgetOutboxes(user);
  if (!elsewhere) { forgetToken(forget ? user : null); location.hash = ""; }
  if (navigator.onLine || !opened) return location.reload();
  opened.sync.stop(); // offline, a reload would show the browser's error page: the sign-in is shown in place
  $("app").hidden = true;
  return signIn(config, "You are signed out.").catch(() => {}); // the dev users' list waits for the network
}

async function boot() {
  config = await (await fetch("config.json")).json();
  // The AGPL's offer of the running version's source, where the deployment put it.
  for (const link of document.querySelectorAll(".source-link")) link.href = config.source || "source.tar.gz";
  const { token, reason } = savedToken();
  onTokenChange((value) => (value ? location.reload() : signOut(true))); // signed in or out in another tab
  if (!token) return signIn(config, reason);
  const api = new Api(config.api, token);
  let me;
  try {
    me = await api.get("/me");
  } catch (error) {
    if (error.status === 401) forgetToken();
    return signIn(config, `Signing in failed: ${error.message}`);
  }
  whenExpired(token, () => { forgetToken(); location.reload(); });
  const workspaces = await api.all("/me/workspaces");
  // Changes kept from pages of workspaces this person has left (removed meanwhile): shown to copy, never sent.
  const lost = orphans(me.user_id, new Set(workspaces.map((w) => w.workspace_id)))
    .map((op) => (op.action === "chat" ? op.text : op.fields?.text)).filter((text) => typeof text === "string" && text.trim());
  const toCopy = (text) => `Not sent: you are no longer a member of the workspace it was written in. Your text, to copy: “${text}”`;
  if (!workspaces.length) return signIn(config, [`${me.name} is not a member of any workspace.`, ...lost.map(toCopy)].join(" "));
  for (const text of lost) showError(toCopy(text), { kept: true });
  const wanted = new URLSearchParams(location.hash.slice(1)).get("workspace");
  const current = workspaces.find((w) => w.workspace_id === wanted) || workspaces[0];
  const select = $("workspace-select");
  for (const w of workspaces) select.append(new Option(`${w.name} (${w.role})`, w.workspace_id));
  select.value = current.workspace_id;
  const refresh = () => refreshPicker(api, select, current.workspace_id);
  select.addEventListener("focus", refresh);
  select.addEventListener("pointerdown", refresh);
  select.onchange = () => { location.hash = `workspace=${select.value}`; location.reload(); };
  $("signout").onclick = () => signOut();
  $("me").textContent = `${me.name} · ${current.role}`;
  foldablePanels();
  $("app").hidden = false;
  document.title = `${current.name}: Kalexo Teamwork`;
  opened = new Workspace(config, api, me, current);
  return opened.start();
}

// The picker lists the other workspaces as they are now when it is opened (a role changed, a workspace joined
// or left since the page loaded: it said so at the page's load only), read at most every 5 s. This page's own
// workspace keeps the role the page knows (workspace.js, from the router).
let pickerRead = 0;
async function refreshPicker(api, select, currentId) {
  if (Date.now() - pickerRead < 5000) return;
  pickerRead = Date.now();
  let workspaces;
  try { workspaces = await api.all("/me/workspaces"); } catch { return; } // kept as it was
  const listed = new Map([...select.options].map((o) => [o.value, o]));
  for (const w of workspaces) {
    if (w.workspace_id === currentId) continue;
    const option = listed.get(w.workspace_id) || select.appendChild(new Option("", w.workspace_id));
    option.textContent = `${w.name} (${w.role})`;
  }
  const now = new Set(workspaces.map((w) => w.workspace_id));
  for (const [id, option] of listed) if (id !== currentId && !now.has(id)) option.remove();
}

async function signIn(config, message) {
  $("signin").hidden = false;
  if (message) Object.assign($("signin-error"), { hidden: false, textContent: message });
  const use = (token) => { keepToken(token); location.reload(); };
  $("token-form").onsubmit = (event) => { event.preventDefault(); if ($("token-input").value.trim()) use($("token-input").value); };
  if (!config.dev_users) return;
  let users;
  try {
    users = await (await fetch(config.dev_users)).json();
  } catch (error) { // offline (signed out without a network): offered once the network is back, with no reload
    addEventListener("online", () => signIn(config), { once: true });
    throw error;
  }
  $("dev-user-buttons").replaceChildren();
  for (const user of users) {
    const role = user.workspace_role ? `${user.workspace_role}` : user.role;
    const choice = el("button", "", `${user.user_id} (${role})`);
    choice.type = "button";
    choice.dataset.user = user.user_id;
    choice.onclick = () => use(user.token);
    $("dev-user-buttons").append(choice);
  }
  $("dev-users").hidden = false;
}

boot().catch((error) => showError(`The page could not start: ${error.message}`));
