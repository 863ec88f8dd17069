"use strict";
(() => {
  const READ_KEY = "voxbridge.readToken";
  const ADMIN_KEY = "voxbridge.adminToken";
  const STALE_MS = 5000;
  const $ = (id) => document.getElementById(id);

  const tokens = {
    read: sessionStorage.getItem(READ_KEY),
    admin: sessionStorage.getItem(ADMIN_KEY),
  };
  const list = { version: null, saved: [], draft: [], errors: new Map(), checks: new Map(), pendingRemove: null, theirs: null };
  let lastFleet = null;
  let wantToken = null;
  let tokenArrived = null;

  function headers(kind, extra) {
    const result = Object.assign({}, extra || {});
    const token = kind === "admin" ? (tokens.admin || tokens.read) : (tokens.read || tokens.admin);
    if (token) result.Authorization = "Bearer " + token;
    return result;
  }

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  function setConnection(kind, text) {
    const node = $("connection");
    node.dataset.connection = kind;
    node.textContent = text;
  }

  // ---- tokens ----
  function askForToken(kind, reason) {
    wantToken = kind;
    $("access-reason").textContent = reason;
    $("access").hidden = false;
    $("access-token").value = "";
    $("access-token").focus();
    if (kind === "read") setConnection("token", "Token needed");
    return new Promise((resolve) => { tokenArrived = resolve; });
  }

  $("access-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("access-token").value.trim();
    if (!value) return;
    if (wantToken === "admin") { tokens.admin = value; sessionStorage.setItem(ADMIN_KEY, value); }
    else { tokens.read = value; sessionStorage.setItem(READ_KEY, value); }
    $("access-token").value = "";
    $("access").hidden = true;
    const resolve = tokenArrived;
    tokenArrived = null;
    wantToken = null;
    if (resolve) resolve();
  });

  // ---- the live view ----
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  async function follow() {
    let backoff = 500;
    for (;;) {
      const controller = new AbortController();
      let watchdog = null;
      const arm = () => { clearTimeout(watchdog); watchdog = setTimeout(() => controller.abort(), STALE_MS); };
      try {
        arm();
        const response = await fetch("/v1/fleet/events", {
          headers: headers("read", { Accept: "text/event-stream" }), cache: "no-store", signal: controller.signal,
        });
        if (response.status === 401) {
          clearTimeout(watchdog);
          tokens.read = null;
          sessionStorage.removeItem(READ_KEY);
          await askForToken("read", "This service needs a token to show the fleet: enter the pick token (or the admin token).");
          loadList();
          continue;
        }
        if (!response.ok || !response.body) throw new Error("status " + response.status);
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          arm();
          buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (handleBlock(block)) backoff = 500;
          }
        }
      } catch (error) {
        // A refused connection, a dropped stream or the watchdog: reconnect below.
      }
      clearTimeout(watchdog);
      setConnection("reconnecting", "Reconnecting…");
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 4000);
    }
  }

  function handleBlock(block) {
    let type = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) type = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (type !== "fleet" || data.length === 0) return false;
    let fleet;
    try { fleet = JSON.parse(data.join("\n")); } catch (error) { return false; }
    lastFleet = fleet;
    render(fleet);
    if (fleet.servers.some((server) => server.admin_state && server.admin_state !== "active")) refreshAdminBy(fleet);
    const time = new Date().toLocaleTimeString([], { hour12: false });
    setConnection("live", "Live · updated " + time);
    // Follow saves made elsewhere while nothing is being edited here.
    if (list.version !== null && fleet.version !== list.version && !isDirty() && list.theirs === null) loadList();
    return true;
  }

  function number(value) { return value === null || value === undefined ? "–" : String(value); }
  function rate(value) { return typeof value === "number" ? value.toFixed(value >= 10 ? 0 : 1) : "–"; }

  // Which instance decides picks: this one alone, this one as the cluster's leader, another
  // instance, or every instance alone while the cluster's database is away.
  function deciderText(cluster) {
    const term = cluster.term === null || cluster.term === undefined ? "" : " (lease term " + cluster.term + ")";
    switch (cluster.role) {
      case "single": return "this instance, alone";
      case "leader": return "this instance, the cluster's leader" + term;
      case "follower": return cluster.leader ? cluster.leader + term : "none just now: a takeover is under way";
      case "degraded": return "each instance alone: the cluster's database cannot be reached";
      default: return "–";
    }
  }

  function ageText(server, generatedAt) {
    if (!server.last_probe_at) return "never";
    const now = generatedAt ? Date.parse(generatedAt) : Date.now();
    const age = Math.max(0, now - Date.parse(server.last_probe_at)) / 1000;
    const latency = server.last_latency_ms === null ? "" : ", took " + server.last_latency_ms.toFixed(1) + " ms";
    return age.toFixed(1) + " s ago" + latency;
  }

  function whyPassedOver(server) {
    const free = (server.available || 0) - server.reserved;
    if (server.admin_state === "draining") return "draining (operator): no new dialouts, calls in progress finish";
    if (server.admin_state === "maintenance") return "maintenance (operator): no dialouts";
    if (server.state === "down") return "down" + (server.last_error ? ": " + server.last_error : "");
    if (server.state === "draining") return "draining: it reports it takes no new calls";
    if (server.state === "unknown") return server.last_error ? "failing: " + server.last_error : "not probed yet";
    if (server.held_by_report === "busy") return "a dialout got 429: counted full until the next good probe";
    if (server.held_by_report === "failed") return "a dialout failed: passed over until the next good probe";
    if (free <= 0) return "full: no free workers";
    return null;
  }

  function capacity(server) {
    const workers = server.workers || 0;
    const busy = Math.min(server.active_calls || 0, workers);
    const reserved = Math.min(server.reserved, Math.max(0, (server.available || 0)));
    const free = Math.max(0, (server.available || 0) - reserved);
    const bar = el("div", { class: "capacity", role: "img",
      "aria-label": busy + " busy, " + reserved + " reserved by us, " + free + " free of " + workers + " workers" });
    if (workers > 0) {
      for (const [name, count] of [["busy", busy], ["reserved", reserved], ["free", free]]) {
        if (count === 0) continue;
        const segment = el("span", { class: "seg-" + name });
        // Through CSSOM: the page's CSP forbids style attributes.
        segment.style.width = (100 * count / workers) + "%";
        bar.append(segment);
      }
    }
    // Free here is what a pick can still use: the reported free workers less our reservations.
    const legend = el("p", { class: "legend" },
      el("span", { class: "key seg-busy", "aria-hidden": "true" }), el("span", { "data-field": "active_calls", text: number(server.active_calls) }), " busy · ",
      el("span", { class: "key seg-reserved", "aria-hidden": "true" }), el("span", { "data-field": "reserved", text: number(server.reserved) }), " reserved · ",
      el("span", { class: "key seg-free", "aria-hidden": "true" }), el("span", { "data-field": "free", text: server.available === null ? "–" : String(free) }), " free of ",
      el("span", { "data-field": "workers", text: number(server.workers) }), " workers");
    return [bar, legend];
  }

  // How each HAProxy ingress (kept by `ingress sync`) sees the server; a listed server that an
  // ingress lacks takes no inbound calls there.
  function inboundText(server) {
    const each = server.ingress.map((i) => i.ingress + " " + i.state + (i.stale ? " (stale)" : "")).join(" · ");
    return server.missing_inbound ? "missing inbound: " + each : each;
  }

  function fact(name, value, field, extraClass) {
    return [el("dt", { text: name }), el("dd", { "data-field": field, class: extraClass, text: value })];
  }

  function render(fleet) {
    const totals = fleet.totals || {};
    $("total-up").textContent = number(totals.servers_up) + " of " + number(totals.servers);
    $("total-free").textContent = number(totals.free_workers) + " of " + number(totals.workers);
    $("total-picks").textContent = rate(totals.picks_per_second);
    $("total-no-capacity").textContent = number(totals.no_capacity_total) + " (" + rate(totals.no_capacity_per_second) + "/s)";
    $("total-probes").textContent = rate(totals.probes_per_second);
    $("total-decider").textContent = deciderText(fleet.cluster || {});

    const items = fleet.servers.map((server) => {
      const why = whyPassedOver(server);
      const reports = server.reports_last_minute || { busy: 0, failed: 0 };
      const facts = el("dl", { class: "facts" },
        ...fact("Reported free", number(server.available), "available"),
        ...fact("Last probe", ageText(server, totals.generated_at), "last_probe"),
        ...fact("Failures in a row", String(server.consecutive_failures), "consecutive_failures"),
        ...fact("Reports, last minute", reports.busy + " busy · " + reports.failed + " failed"
          + (reports.capped ? " (" + reports.capped + " over the cap, ignored)" : ""), "reports_last_minute"),
        ...(server.slow_start_since ? fact("Slow start", "ramping up since " + new Date(server.slow_start_since).toLocaleTimeString(), "slow_start") : []),
        ...fact("Operator state", adminText(server), "admin_state", "admin-state"),
        ...(server.admin_state === "draining" ? fact("Calls left", number(server.active_calls), "calls_left") : []),
        ...fact("Held by report", server.held_by_report || "none", "held_by_report"),
        ...(server.ingress && server.ingress.length ? fact("Inbound", inboundText(server), "ingress", server.missing_inbound ? "why" : null) : []),
        ...fact("Passed over", why || "no: it takes calls", "passed_over", why ? "why" : null));
      return el("li", { class: "server", "data-url": server.url, "data-state": server.state },
        el("div", { class: "server-head" },
          el("span", { class: "server-url", text: server.url }),
          el("span", { class: "state state-" + server.state, "data-field": "state", text: server.state })),
        ...capacity(server), facts, adminActions(server));
    });
    $("servers").replaceChildren(...items);
    $("servers-empty").hidden = fleet.servers.length > 0;
  }

  // ---- operator states: drain, maintenance, resume ----
  const ADMIN_EFFECTS = {
    draining: "New dialouts stop; calls in progress finish. It stays on this page, still probed, so its calls can be watched going to zero.",
    maintenance: "No dialouts at all; failing probes raise no alarm while it is worked on.",
    active: "It takes calls again (ramping up when the service has a slow start set).",
  };
  const ADMIN_VERBS = { draining: "Drain", maintenance: "Maintenance", active: "Resume" };
  let adminPending = null;

  function adminText(server) {
    const state = server.admin_state || "active";
    if (state === "active") return "active";
    const parts = [state];
    if (server.admin_since) parts.push("since " + new Date(server.admin_since).toLocaleString());
    if (server.admin_reason) parts.push("“" + server.admin_reason + "”");
    const by = adminBy.get(server.url);
    if (by) parts.push("by " + by);
    return parts.join(" · ");
  }

  // Who set each state: GET /v1/fleet/admin, read when a state is shown that was not read yet.
  const adminBy = new Map();
  let adminByVersion = null;
  async function refreshAdminBy(fleet) {
    const key = fleet.servers.map((s) => s.url + "=" + s.admin_state + "@" + s.admin_since).join(",");
    if (key === adminByVersion) return;
    adminByVersion = key;
    try {
      const response = await fetch("/v1/fleet/admin", { headers: headers("read") });
      if (!response.ok) return;
      const body = await response.json();
      adminBy.clear();
      for (const server of body.servers) if (server.by) adminBy.set(server.url, server.by);
      if (lastFleet) render(lastFleet);
    } catch (error) { /* shown at the next event */ }
  }

  function adminActions(server) {
    const state = server.admin_state || "active";
    const buttons = ["draining", "maintenance", "active"].filter((target) => target !== state).map((target) =>
      el("button", { type: "button", "data-action": "admin", "data-url": server.url, "data-state": target,
                     class: target === "active" ? "primary" : null,
                     "aria-label": ADMIN_VERBS[target] + " " + server.url, text: ADMIN_VERBS[target] }));
    return el("div", { class: "admin-actions" }, ...buttons);
  }

  $("servers").addEventListener("click", (event) => {
    const button = event.target.closest('button[data-action="admin"]');
    if (!button) return;
    adminPending = { url: button.dataset.url, state: button.dataset.state };
    $("admin-title").textContent = ADMIN_VERBS[adminPending.state] + " " + adminPending.url + "?";
    $("admin-effect").textContent = ADMIN_EFFECTS[adminPending.state];
    $("admin-reason").value = "";
    $("admin-dialog").hidden = false;
    $("admin-reason").focus();
  });

  $("admin-cancel").addEventListener("click", () => {
    adminPending = null;
    $("admin-dialog").hidden = true;
  });

  $("admin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!adminPending) return;
    const change = { url: adminPending.url, state: adminPending.state };
    const reason = $("admin-reason").value.trim();
    if (reason) change.reason = reason;
    $("admin-dialog").hidden = true;
    adminPending = null;
    message("admin-result", "Setting " + change.url + " to " + change.state + "…");
    try {
      const response = await adminFetch("/v1/fleet/admin", {
        method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(change),
      }, "Draining, maintenance and resuming need the admin token.");
      const body = await response.json();
      if (response.ok) {
        message("admin-result", body.url + " is " + body.state + (body.state === "active" ? " again." : " (by " + body.by + ")."), "ok");
      } else {
        message("admin-result", "Not changed: " + (body.message || response.status), "bad");
      }
    } catch (error) {
      message("admin-result", "The service did not answer; nothing was changed, try again.", "bad");
    }
  });

  // ---- the fleet list editor ----
  function isDirty() { return JSON.stringify(list.draft) !== JSON.stringify(list.saved); }

  function message(id, text, kind) {
    const node = $(id);
    node.textContent = text;
    node.className = "result" + (kind ? " " + kind : "");
  }

  async function loadList() {
    try {
      const response = await fetch("/v1/settings/voxcore_fleet", { headers: headers("read"), cache: "no-store" });
      if (response.status === 401) { $("list-version").textContent = "The list needs a token to read."; return; }
      if (!response.ok) throw new Error("status " + response.status);
      const body = await response.json();
      list.version = body.version;
      list.saved = body.voxcore_fleet.slice();
      list.draft = body.voxcore_fleet.slice();
      list.errors.clear();
      list.pendingRemove = null;
      renderList();
    } catch (error) {
      $("list-version").textContent = "The list could not be loaded; it is retried when the service answers.";
    }
  }

  function renderList() {
    $("list-version").textContent = "Version " + list.version + (isDirty() ? " · changed here, not saved yet" : " · saved");
    const items = list.draft.map((url, index) => {
      const isNew = !list.saved.includes(url);
      const row = el("div", { class: "entry" }, el("span", { class: "entry-url", text: url }), isNew ? el("span", { class: "tag", text: "not saved" }) : null);
      if (list.pendingRemove === index) {
        row.append(el("span", { text: "Remove it from the list?" }),
          el("button", { type: "button", class: "danger", "data-action": "confirm-remove", "data-index": index, text: "Yes, remove" }),
          el("button", { type: "button", "data-action": "cancel-remove", text: "Keep" }));
      } else {
        row.append(el("button", { type: "button", "data-action": "remove", "data-index": index, "aria-label": "Remove " + url, text: "Remove" }));
      }
      const item = el("li", { "data-url": url }, row);
      const check = list.checks.get(url);
      if (check) item.append(el("p", { class: "entry-check", text: "Checked: " + check }));
      const error = list.errors.get(index);
      if (error) item.append(el("p", { class: "entry-error", role: "alert", text: error }));
      return item;
    });
    $("entries").replaceChildren(...items);
    if (list.draft.length === 0) $("entries").replaceChildren(el("li", { class: "note", text: "No servers in the list." }));
  }

  $("entries").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const action = button.dataset.action;
    if (action === "remove") {
      list.pendingRemove = Number(button.dataset.index);
      renderList();
      const confirm = $("entries").querySelector('button[data-action="confirm-remove"]');
      if (confirm) confirm.focus();
    } else if (action === "confirm-remove") {
      const index = Number(button.dataset.index);
      const removed = list.draft.splice(index, 1)[0];
      list.pendingRemove = null;
      shiftErrors(index);
      renderList();
      message("save-result", "Removed " + removed + " from the list; save to apply.", "warn");
      $("save-button").focus();
    } else if (action === "cancel-remove") {
      list.pendingRemove = null;
      renderList();
    }
  });

  function shiftErrors(removedIndex) {
    const shifted = new Map();
    for (const [index, reason] of list.errors) {
      if (index < removedIndex) shifted.set(index, reason);
      else if (index > removedIndex) shifted.set(index - 1, reason);
    }
    list.errors = shifted;
  }

  async function adminFetch(url, options, why) {
    for (;;) {
      const response = await fetch(url, Object.assign({}, options, { headers: headers("admin", options.headers) }));
      if (response.status !== 401) return response;
      tokens.admin = null;
      sessionStorage.removeItem(ADMIN_KEY);
      await askForToken("admin", why);
    }
  }

  $("verify-button").addEventListener("click", async () => {
    const url = $("add-url").value.trim();
    if (!url) { message("verify-result", "Enter the server's URL first.", "bad"); $("add-url").focus(); return; }
    message("verify-result", "Checking " + url + "/health/fleet…");
    try {
      const response = await adminFetch("/v1/settings/voxcore_fleet/verify", {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ url }),
      }, "Checking a server needs the admin token.");
      const body = await response.json();
      if (response.status === 400) {
        const reason = body.details && body.details[0] ? body.details[0].reason : body.message;
        message("verify-result", "Not acceptable: " + reason, "bad");
      } else if (!response.ok) {
        message("verify-result", "The check failed: " + (body.message || response.status), "bad");
      } else {
        list.checks.set(body.url, body.message);
        message("verify-result", body.message, body.healthy && body.accepting_calls ? "ok" : body.healthy ? "warn" : "bad");
      }
    } catch (error) {
      message("verify-result", "The service did not answer; try again.", "bad");
    }
  });

  $("add-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const url = $("add-url").value.trim();
    if (!url) { message("verify-result", "Enter the server's URL first.", "bad"); $("add-url").focus(); return; }
    if (list.draft.includes(url)) { message("verify-result", url + " is in the list already.", "warn"); return; }
    list.draft.push(url);
    $("add-url").value = "";
    renderList();
    message("save-result", "Added " + url + " to the list; save to apply.", "warn");
  });

  $("revert-button").addEventListener("click", () => {
    list.draft = list.saved.slice();
    list.errors.clear();
    list.pendingRemove = null;
    renderList();
    message("save-result", "Changes discarded.");
  });

  $("save-button").addEventListener("click", () => save());

  async function save() {
    message("save-result", "Saving…");
    try {
      const response = await adminFetch("/v1/settings/voxcore_fleet", {
        method: "PUT",
        headers: { "Content-Type": "application/json", "If-Match": '"' + list.version + '"' },
        body: JSON.stringify({ voxcore_fleet: list.draft }),
      }, "Saving the list needs the admin token.");
      const body = await response.json();
      if (response.ok) {
        list.version = body.version;
        list.saved = body.voxcore_fleet.slice();
        list.draft = body.voxcore_fleet.slice();
        list.errors.clear();
        list.theirs = null;
        $("conflict").hidden = true;
        renderList();
        message("save-result", "Saved: version " + body.version + ", " + body.voxcore_fleet.length + " servers.", "ok");
      } else if (response.status === 400 && body.error === "invalid_fleet") {
        list.errors = new Map((body.details || []).map((detail) => [detail.index, detail.reason]));
        renderList();
        message("save-result", "Not saved: " + body.message + " (see the reasons next to the entries).", "bad");
      } else if (response.status === 412) {
        await showConflict();
      } else {
        message("save-result", "Not saved: " + (body.message || ("status " + response.status)), "bad");
      }
    } catch (error) {
      message("save-result", "Not saved: the service did not answer; try again.", "bad");
    }
  }

  async function showConflict() {
    const response = await fetch("/v1/settings/voxcore_fleet", { headers: headers("read"), cache: "no-store" });
    const body = await response.json();
    list.theirs = { version: body.version, urls: body.voxcore_fleet };
    const mine = list.draft.map((url) => el("li", { class: body.voxcore_fleet.includes(url) ? null : "only", text: url }));
    const theirs = body.voxcore_fleet.map((url) => el("li", { class: list.draft.includes(url) ? null : "only", text: url }));
    $("conflict-mine").replaceChildren(...mine);
    $("conflict-theirs").replaceChildren(...theirs);
    $("conflict-theirs-title").textContent = "Saved list (version " + body.version + ")";
    $("conflict").hidden = false;
    message("save-result", "Not saved: version " + body.version + " was saved meanwhile. Entries in bold are in one list only.", "bad");
    $("conflict-title").focus();
  }

  $("conflict-take").addEventListener("click", () => {
    if (!list.theirs) return;
    list.version = list.theirs.version;
    list.saved = list.theirs.urls.slice();
    list.draft = list.theirs.urls.slice();
    list.errors.clear();
    list.theirs = null;
    $("conflict").hidden = true;
    renderList();
    message("save-result", "Loaded the saved list, version " + list.version + ".");
  });

  $("conflict-keep").addEventListener("click", () => {
    if (!list.theirs) return;
    // The operator has seen both lists and chose theirs to be replaced: save against its version.
    list.version = list.theirs.version;
    list.saved = list.theirs.urls.slice();
    save();
  });

  loadList();
  follow();
})();
