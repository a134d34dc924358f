/* Shared by every page: calling the JSON API and rendering deliveries. */
"use strict";

const Dash = (() => {
  async function api(method, url, body) {
    const options = { method, headers: { Accept: "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch (err) {
      return { ok: false, status: 0, data: { error: { message: "network error: " + err.message } } };
    }
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    return { ok: response.ok, status: response.status, data };
  }

  function errorText(result) {
    const err = result.data && result.data.error;
    if (err && err.message) return err.message;
    if (result.status === 404 || result.status === 405) {
      return "this simulator has no such API endpoint yet (HTTP " + result.status + ")";
    }
    return "request failed (HTTP " + result.status + ")";
  }

  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  function badge(status) {
    return '<span class="badge ' + esc(status) + '">' + esc(status) + "</span>";
  }

  function renderDelivery(d) {
    const attempts = (d.attempts || []).map((a) => "<tr>" +
      "<td>" + esc(a.number) + '</td><td><time datetime="' + esc(a.started_at) + '" title="' + esc(a.started_at) + '">' +
      esc(String(a.started_at || "").slice(11, 23)) + "</time></td>" +
      "<td>" + esc(a.status_code === null ? "-" : a.status_code) + "</td>" +
      "<td>" + esc(a.latency_ms === null ? "-" : Math.round(a.latency_ms) + " ms") + "</td>" +
      "<td>" + esc(a.outcome) + "</td>" +
      '<td><pre class="body">' + esc(a.error || a.response_body || "") + "</pre></td></tr>").join("");
    return '<article class="delivery" data-delivery-id="' + esc(d.id) + '">' +
      "<h3>Delivery " + esc(d.id) + " " + badge(d.status) + "</h3>" +
      '<p class="url"><span class="method">' + esc(d.method || "GET") + "</span> <code>" + esc(d.url) + "</code></p>" +
      (d.body ? '<pre class="body">' + esc(d.body) + "</pre>" : "") +
      (d.status === "pending" && d.next_attempt_at
        ? '<p class="muted small">Next attempt at ' + esc(new Date(d.next_attempt_at * 1000).toISOString()) + ".</p>" : "") +
      '<div class="scroll"><table class="attempts"><caption>Attempts</caption><thead><tr><th scope="col">#</th>' +
      '<th scope="col">Started (UTC)</th><th scope="col">Receiver status</th><th scope="col">Latency</th>' +
      '<th scope="col">Outcome</th><th scope="col">Body or error</th></tr></thead><tbody>' +
      (attempts || '<tr><td colspan="6" class="muted">no attempt yet</td></tr>') +
      "</tbody></table></div></article>";
  }

  /* Poll a delivery until it is delivered or failed; bounded so a page never polls forever. */
  async function followDelivery(id, onUpdate, { tries = 60, every = 500 } = {}) {
    let last = null;
    for (let i = 0; i < tries; i += 1) {
      const result = await api("GET", "/api/deliveries/" + id);
      if (!result.ok) { onUpdate(null, errorText(result)); return null; }
      last = result.data;
      onUpdate(last, null);
      if (last.status !== "pending") return last;
      await new Promise((resolve) => setTimeout(resolve, every));
    }
    return last;
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }

  /* The Sub IDs set on Links & Promotion, remembered in this browser for the test conversion. */
  const SUBS_KEY = "postback-sim.subs";

  function savedSubs() {
    try { return JSON.parse(window.localStorage.getItem(SUBS_KEY) || "{}"); } catch (_) { return {}; }
  }

  function saveSubs(subs) {
    try { window.localStorage.setItem(SUBS_KEY, JSON.stringify(subs)); } catch (_) { /* private mode */ }
  }

  return { api, errorText, esc, badge, renderDelivery, followDelivery, debounce, savedSubs, saveSubs };
})();
