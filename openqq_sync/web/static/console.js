// openqq-sync web console. Plain script, no build step, talks only to this server.
// Events are read with check_event?since=SEQ (the lossless cursor), which removes nothing,
// so the console never takes messages away from other check_event consumers.
"use strict";

(function () {
  const API = "../";                 // the console lives at /openqq/console/
  // Behind `openqq controller` the page is opened as console/?client=NAME: every call names it.
  const CLIENT = new URLSearchParams(location.search).get("client") || "";
  const TOKEN_KEY = "openqq-token";
  const MAX_ITEMS = 300;
  const LOGIN_STATES = new Set(["scaning", "confirming"]);
  const TYPE_LABEL = {
    friend_message: "friend", group_message: "group",
    discuss_message: "discussion", sess_message: "temporary",
  };

  const $ = (id) => document.getElementById(id);
  let token = sessionStorage.getItem(TOKEN_KEY) || "";
  let state = "";
  let cursor = 0;
  let qrTag = "";
  let qrUrl = "";
  let contactsLoadedFor = "";
  let needToken = false;
  let serverId = "";                 // pid@starttime: a new process numbers events from 1 again
  let pollAbort = null;

  class AuthError extends Error {}

  async function call(path, params, method, signal) {
    const headers = {};
    const used = token;
    if (used) headers["Authorization"] = "Bearer " + used;
    const opts = { method: method || "GET", headers, cache: "no-store", signal };
    const query = new URLSearchParams(CLIENT ? { client: CLIENT } : {});
    if (params && opts.method === "GET") {
      for (const [name, value] of Object.entries(params)) query.append(name, value);
    } else if (params) {
      opts.body = new URLSearchParams(params);
    }
    const search = query.toString();
    const resp = await fetch(API + path + (search ? "?" + search : ""), opts);
    if (resp.status === 401) {
      // A call that left with an older token says nothing about the one entered since.
      if (used === token) askToken(used ? "That token was refused." : "");
      throw new AuthError("auth failure");
    }
    setLink(true);
    return resp;
  }

  async function callJson(path, params, method, signal) {
    const resp = await call(path, params, method, signal);
    return resp.json();
  }

  function setLink(ok) {
    $("link").textContent = ok ? "connected" : "reconnecting…";
  }

  function askToken(message) {
    needToken = true;
    $("token-form").hidden = false;
    $("token-error").textContent = message || "";
    $("token-input").focus();
  }

  $("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    token = $("token-input").value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    needToken = false;
    $("token-form").hidden = true;
    refreshState();
  });

  // --- state, account, QR code, contact counts ----------------------------------------
  async function refreshState() {
    try {
      const info = await callJson("get_client_info");
      const id = info.pid + "@" + info.starttime;
      if (serverId && id !== serverId) serverRestarted();
      serverId = id;
      // The controller answers "client not found" / "client not exists" for a bad client=.
      showState(info.state || info.status || "unknown");
      if (info.state === "running" && contactsLoadedFor !== "running") {
        contactsLoadedFor = "running";
        await refreshContacts();
      } else if (info.state !== "running") {
        contactsLoadedFor = "";
        if ($("account").dataset.name === undefined) $("account").textContent = info.account || "";
      }
      if (LOGIN_STATES.has(info.state)) await refreshQr();
      else hideQr();
    } catch (err) {
      if (!(err instanceof AuthError)) { setLink(false); showState("offline"); }
    }
  }

  function showState(name) {
    if (name === state) return;
    state = name;
    const el = $("state");
    el.textContent = name;
    el.className = "state " + name;
    // Sending needs a logged-in client; the API would answer 503 before that.
    $("send-button").disabled = name !== "running";
    $("send-button").title = name === "running" ? "" : "available once logged in";
  }

  async function refreshQr() {
    const resp = await call("get_qrcode");
    if (resp.status !== 200) { hideQr(); return; }
    const tag = resp.headers.get("ETag") || "";
    const blob = await resp.blob();
    // Swap the image only when the code changed (it is replaced when it expires).
    if (tag && tag === qrTag) return;
    qrTag = tag;
    if (qrUrl) URL.revokeObjectURL(qrUrl);
    qrUrl = URL.createObjectURL(blob);
    $("qrcode").src = qrUrl;
    $("qr-card").hidden = false;
    $("qr-hint").textContent = state === "confirming"
      ? "Scanned: confirm the login on your phone."
      : "Scan with the QQ app on your phone, then confirm there.";
  }

  function hideQr() {
    if ($("qr-card").hidden) return;
    $("qr-card").hidden = true;
    qrTag = "";
  }

  async function refreshContacts() {
    const user = await callJson("get_user_info");
    if (user && user.name) {
      $("account").textContent = user.name + (user.uid ? " (" + user.uid + ")" : "");
      $("account").dataset.name = user.name;
    }
    const [friends, groups, discusses] = await Promise.all([
      callJson("get_friend_info"), callJson("get_group_basic_info"), callJson("get_discuss_info")]);
    const count = (list) => (Array.isArray(list) ? String(list.length) : "–");
    $("count-friends").textContent = count(friends);
    $("count-groups").textContent = count(groups);
    $("count-discusses").textContent = count(discusses);
    fillTargets(friends, groups);
  }

  let targets = { friend: [], group: [] };
  function fillTargets(friends, groups) {
    const names = (list) => (Array.isArray(list) ? list : [])
      .map((c) => c.markname || c.name).filter(Boolean);
    targets = { friend: names(friends), group: names(groups) };
    showTargets();
  }

  function showTargets() {
    const list = $("targets");
    list.replaceChildren(...targets[$("send-type").value].map((name) => {
      const opt = document.createElement("option");
      opt.value = name;
      return opt;
    }));
  }
  $("send-type").addEventListener("change", showTargets);

  // --- live list of messages and events ---------------------------------------------
  function timeText(t) {
    const d = t ? new Date(Number(t) * 1000) : new Date();
    return d.toTimeString().slice(0, 8);
  }

  function describe(item) {
    if (item.post_type === "event") {
      const p = item.params || [];
      let text = "";
      if (item.event === "state_change") text = p[0] + " → " + p[1];
      else if (item.event === "input_qrcode") text = "new login QR code";
      else if (item.event === "login") text = p[0] ? "logged in by QR scan" : "logged in again (no scan)";
      else if (p[0] && typeof p[0] === "object") text = p[0].displayname || p[0].markname || p[0].name || "";
      else text = p.map(String).join(", ");
      return { cls: "event", kind: item.event, who: "", text };
    }
    const recv = item["class"] === "recv";
    const label = TYPE_LABEL[item.type] || item.type;
    let who;
    if (recv) {
      who = item.sender || item.sender_uid || "?";
      if (item.group) who += " @ " + item.group;
      else if (item.discuss) who += " @ " + item.discuss;
    } else {
      who = "→ " + (item.group || item.discuss || item.receiver || item.receiver_uid || "?");
    }
    return { cls: recv ? "recv" : "send", kind: (recv ? "⬇ " : "⬆ ") + label, who, text: item.content || "" };
  }

  function addItems(items) {
    const list = $("events");
    for (const item of items) {
      if (typeof item.seq === "number") cursor = Math.max(cursor, item.seq);
      const d = describe(item);
      const li = document.createElement("li");
      li.className = d.cls;
      li.dataset.seq = item.seq;
      const time = document.createElement("span");
      time.className = "time";
      time.textContent = timeText(item.time);
      const kind = document.createElement("span");
      kind.className = "kind";
      kind.textContent = d.kind;
      const body = document.createElement("span");
      if (d.who) {
        const who = document.createElement("span");
        who.className = "who";
        who.textContent = d.who;
        body.appendChild(who);
      }
      const text = document.createElement("span");
      text.className = "text";
      text.textContent = d.text;
      body.appendChild(text);
      li.append(time, kind, body);
      list.prepend(li);
      if (item.post_type === "event" && /^(new|lose)_/.test(item.event || "")) contactsLoadedFor = "";
    }
    while (list.children.length > MAX_ITEMS) list.lastChild.remove();
    $("feed-empty").hidden = list.children.length > 0;
    $("feed-count").textContent = list.children.length ? "(" + list.children.length + ")" : "";
  }

  // The new process's cursor starts again at 1: read it from the start, drop the held poll.
  function serverRestarted() {
    cursor = 0;
    contactsLoadedFor = "";
    addItems([{ post_type: "event", event: "restart", params: ["the server restarted"] }]);
    if (pollAbort) pollAbort.abort();
  }

  async function followEvents() {
    for (;;) {
      if (needToken) { await pause(1000); continue; }
      try {
        pollAbort = new AbortController();
        const items = await callJson("check_event", { since: String(cursor) }, "GET", pollAbort.signal);
        if (Array.isArray(items) && items.length) {
          addItems(items);
          if (items.some((i) => i.event === "state_change")) refreshState();
        } else if (!Array.isArray(items)) {
          await pause(2000);        // an error answer comes at once: no busy loop
        }
      } catch (err) {
        if (err.name === "AbortError") continue;
        if (!(err instanceof AuthError)) setLink(false);
        await pause(2000);
        refreshState();             // a restart shows as a new pid@starttime
      }
    }
  }

  // --- send box ------------------------------------------------------------------------
  $("send-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const type = $("send-type").value;
    const target = $("send-target").value.trim();
    const content = $("send-content").value;
    const result = $("send-result");
    if (!target || !content) return;
    const params = { content };
    // A QQ number is all digits; anything else is matched against names and marknames.
    if (/^\d+$/.test(target)) params.uid = target;
    else params.displayname = target;
    $("send-button").disabled = true;
    result.className = "result";
    result.textContent = "sending…";
    try {
      const answer = await callJson("send_" + type + "_message", params, "POST");
      const ok = answer.code === 0;
      result.className = "result " + (ok ? "ok" : "bad");
      result.textContent = ok ? "sent" : (answer.status || "failed") + (answer.info ? ": " + answer.info : "");
      if (ok) $("send-content").value = "";
    } catch (err) {
      result.className = "result bad";
      result.textContent = err instanceof AuthError ? "token needed" : "network error";
    } finally {
      $("send-button").disabled = state !== "running";
    }
  });

  function pause(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

  async function stateLoop() {
    for (;;) {
      if (!needToken) await refreshState();
      // Faster while logging in, so a new QR code or the confirmation shows at once.
      await pause(LOGIN_STATES.has(state) ? 1500 : contactsLoadedFor ? 10000 : 3000);
    }
  }

  if (CLIENT) $("openapi").search = "?" + new URLSearchParams({ client: CLIENT });
  stateLoop();
  followEvents();
})();
