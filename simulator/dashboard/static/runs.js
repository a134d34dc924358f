/* Scenario runs: start a run in the app's background thread and follow it to the end. */
"use strict";

(() => {
  const { api, errorText, esc, badge } = Dash;
  const form = document.getElementById("run-form");
  const status = document.getElementById("run-status");
  const progress = document.getElementById("run-progress");

  function scenarioIds() {
    const ticked = Array.from(form.querySelectorAll("input[name=scenarios]:checked")).map((i) => i.value);
    const typed = document.getElementById("scenario-ids");
    return ticked.concat(typed ? typed.value.split(/[\s,]+/).filter(Boolean) : []);
  }

  function renderRun(run) {
    const done = run.done + (run.total ? " of " + run.total : "");
    const results = run.results.map((r) => '<details class="scenario"' + (r.status === "passed" ? "" : " open") +
      "><summary>" + badge(r.status) + " <code>" + esc(r.id) + "</code> " + esc(r.title) + ' <span class="muted small">' +
      esc(r.duration_s) + " s</span></summary>" + (r.error ? '<p class="error">' + esc(r.error) + "</p>" : "") +
      (r.findings || []).map((f) => '<p class="finding"><strong>[' + esc(f.rule) + "]</strong> " +
        '<span class="muted">' + esc(f.severity) + " · " + esc(f.platform) + "</span><br>" + esc(f.message) +
        '<br><a href="' + esc(f.doc_url) + '" target="_blank" rel="noopener">' + esc(f.doc_url) + "</a></p>").join("") +
      "</details>").join("");
    const counts = run.counts ? "<p><strong>" + run.counts.passed + " passed, " + run.counts.failed + " failed, " +
      run.counts.errors + " errors, " + run.counts.skipped + ' skipped</strong> · <a href="/runs/' + run.id +
      '/report">full HTML report</a></p>' : "";
    progress.innerHTML = "<p>Run " + esc(run.id) + ": " + badge(run.state) + " " + esc(done) + " scenario(s) done" +
      (run.current ? "; running " + esc(run.current) : "") + "</p>" +
      (run.error ? '<p class="error">' + esc(run.error) + "</p>" : "") + counts + results;
  }

  async function follow(id) {
    // Bounded: a catalogue run takes minutes at most; stop polling after an hour.
    for (let i = 0; i < 3600; i += 1) {
      const result = await api("GET", "/ui/api/runs/" + id);
      if (!result.ok) { progress.innerHTML = '<p class="error">' + esc(errorText(result)) + "</p>"; return; }
      renderRun(result.data);
      if (result.data.state === "finished" || result.data.state === "error") return;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      profile_path: document.getElementById("profile-path").value,
      profile_yaml: document.getElementById("profile-yaml").value,
      scenarios: scenarioIds(),
      simulator: form.querySelector("input[name=simulator]:checked").value,
    };
    status.textContent = "Starting…";
    const result = await api("POST", "/ui/api/runs", body);
    if (!result.ok) { status.textContent = errorText(result); status.className = "error"; return; }
    status.textContent = "Run " + result.data.id + " started.";
    status.className = "ok";
    await follow(result.data.id);
  });
})();
