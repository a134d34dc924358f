/* Platform inspector: polls the judged journal with after_id and shows new requests on top;
   older pages load on demand (before_id), and a body cut to a preview loads whole on demand. */
"use strict";

(() => {
  const { api, errorText, esc, badge, renderDelivery } = Dash;
  const list = document.getElementById("entries");
  const empty = document.getElementById("no-entries");
  const platform = document.getElementById("platform");
  const live = document.getElementById("live");
  const status = document.getElementById("inspector-status");
  const older = document.getElementById("older");
  let afterId = 0;
  let beforeId = null;
  let timer = null;

  /* Pretty JSON with every value at a marked path (`data.0.user_data.fbc`) in a <mark>. */
  function pretty(value, marks, path, indent) {
    const pad = "  ".repeat(indent);
    let text;
    if (Array.isArray(value)) {
      text = value.length ? "[\n" + value.map((v, i) => pad + "  " +
        pretty(v, marks, path ? path + "." + i : String(i), indent + 1)).join(",\n") + "\n" + pad + "]" : "[]";
    } else if (value && typeof value === "object") {
      const keys = Object.keys(value);
      text = keys.length ? "{\n" + keys.map((k) => pad + '  <span class="k">' + esc(JSON.stringify(k)) +
        "</span>: " + pretty(value[k], marks, path ? path + "." + k : k, indent + 1)).join(",\n") +
        "\n" + pad + "}" : "{}";
    } else {
      text = esc(JSON.stringify(value));
    }
    return path && marks.has(path) ? '<mark title="' + esc(path) + '">' + text + "</mark>" : text;
  }

  function requestBody(entry) {
    if (entry.body_truncated) {
      return esc(entry.body) + "…\n" + '<button type="button" class="whole" data-id="' + esc(entry.id) +
        '">Show the whole request (' + esc(entry.body_chars) + " characters)</button>";
    }
    try { return pretty(JSON.parse(entry.body), new Set(entry.marks), "", 0); }
    catch (_) { return esc(entry.body); }
  }

  function eventRows(entry) {
    return (entry.events || []).map((e) => {
      const click = e.click_id ? esc(e.click_id.kind) + ' <code class="wrap">' + esc(e.click_id.value) + "</code>" : "-";
      const attribution = e.attribution || {};
      return "<tr><td><strong>" + esc(e.event_name) + "</strong> <span class=\"muted small\">" + esc(e.field_prefix) +
        "</span><br>time " + esc(e.event_time) + '<br>id <code class="wrap">' + esc(e.event_id) + "</code></td><td>" +
        esc(e.value) + " " + esc(e.currency) + "</td><td>" + click + "</td><td>" + badge(attribution.status || "none") +
        " " + esc(attribution.detail || "") + "</td></tr>";
    }).join("") || '<tr><td colspan="4" class="muted">no event could be parsed</td></tr>';
  }

  function findingList(entry) {
    const platformNotes = (entry.findings || []).map((f) => '<li class="note"><strong>' + esc(f.code) +
      "</strong> " + esc(f.message) + "</li>");
    const rules = (entry.rule_findings || []).map((f) => '<li class="finding ' + esc(f.severity) +
      '"><strong>[' + esc(f.rule) + "]</strong> " + '<span class="muted">' + esc(f.severity) +
      "</span> " + esc(f.message) + '<br><a href="' + esc(f.doc_url) + '" target="_blank" rel="noopener">' +
      esc(f.doc_url) + "</a></li>");
    if (entry.rules_problem) rules.unshift('<li class="note">' + esc(entry.rules_problem) + "</li>");
    if (!rules.length && !platformNotes.length) return '<p class="ok">No rule findings: this request looks right.</p>';
    return '<ul class="findings" aria-label="Findings">' + rules.concat(platformNotes).join("") + "</ul>";
  }

  function causes(entry) {
    const found = entry.caused_by || [];
    if (!found.length) return '<p class="muted">No postback delivery carries this request\'s click or conversion ID.</p>';
    return found.map((d) => renderDelivery({ ...d, attempts: d.attempt_log })).join("");
  }

  function render(entry) {
    const article = document.createElement("article");
    article.className = "entry";
    article.id = "entry-" + entry.id;
    const count = (entry.rule_findings || []).length;
    const verdict = '<span class="badge ' + (count ? "failed" : "passed") + '">' +
      (count ? count + " rule finding" + (count > 1 ? "s" : "") : "no findings") + "</span>";
    const answer = '<span class="badge ' + (entry.accepted ? "accepted" : "rejected") + '">' +
      esc(entry.status) + " " + (entry.accepted ? "accepted" : "rejected") + "</span>";
    article.innerHTML =
      "<h2>#" + esc(entry.id) + " " + esc(entry.platform) + ' <span class="method">' + esc(entry.method) +
      "</span> <code>" + esc(entry.path) + "</code> → " + answer + " " + verdict +
      ' <span class="muted small">' + esc(entry.received_at) + (entry.fault ? " · injected fault " + esc(JSON.stringify(entry.fault)) : "") + "</span></h2>" +
      '<div class="columns"><div><h3>Findings</h3>' + findingList(entry) +
      "<h3>Request body</h3><pre class=\"json\">" + requestBody(entry) + "</pre>" +
      '<h3>Events and attribution</h3><table class="events"><thead><tr><th scope="col">Event</th>' +
      '<th scope="col">Value</th><th scope="col">Click ID</th><th scope="col">Attribution</th></tr></thead><tbody>' +
      eventRows(entry) + "</tbody></table>" +
      "<h3>Platform answer</h3><pre class=\"json\">" + esc(JSON.stringify(entry.response, null, 2)) + "</pre></div>" +
      "<div><h3>The postback that caused it</h3>" + causes(entry) + "</div></div>";
    return article;
  }

  async function poll() {
    clearTimeout(timer);
    const query = "?after_id=" + afterId + (platform.value ? "&platform=" + encodeURIComponent(platform.value) : "");
    const result = await api("GET", "/ui/api/inspector" + query);
    if (!result.ok) {
      status.textContent = "Could not read the journal: " + errorText(result);
    } else {
      const items = result.data.items || [];
      // Items come newest first; inserting oldest first at the top keeps that order.
      items.slice().reverse().forEach((entry) => list.prepend(render(entry)));
      afterId = result.data.last_id;
      if (beforeId === null) setOlder(result.data.next_before_id);
      empty.hidden = list.children.length > 0;
      status.textContent = "Updated " + new Date().toLocaleTimeString() + ".";
    }
    if (live.checked) timer = setTimeout(poll, 1500);
  }

  function setOlder(id) {
    beforeId = id;
    older.hidden = id === null;
  }

  async function loadOlder() {
    const query = "?before_id=" + beforeId + (platform.value ? "&platform=" + encodeURIComponent(platform.value) : "");
    const result = await api("GET", "/ui/api/inspector" + query);
    if (!result.ok) { status.textContent = "Could not read the journal: " + errorText(result); return; }
    (result.data.items || []).forEach((entry) => list.append(render(entry)));
    setOlder(result.data.next_before_id);
  }

  async function showWhole(button) {
    const result = await api("GET", "/ui/api/inspector/" + button.dataset.id);
    if (!result.ok) { status.textContent = "Could not read the entry: " + errorText(result); return; }
    const article = document.getElementById("entry-" + button.dataset.id);
    article.replaceWith(render(result.data));
  }

  list.addEventListener("click", (event) => {
    const button = event.target.closest("button.whole");
    if (button) showWhole(button);
  });
  older.addEventListener("click", loadOlder);
  platform.addEventListener("change", () => { list.innerHTML = ""; afterId = 0; setOlder(null); poll(); });
  live.addEventListener("change", () => { if (live.checked) poll(); else clearTimeout(timer); });
  poll();
})();
