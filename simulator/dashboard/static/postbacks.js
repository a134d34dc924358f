/* Advanced > Postbacks: the network (its macros fill the picker), macro picker (button and "{"
   shortcut), validation as you type, save, enabling a disabled postback, and a test conversion
   followed to its final delivery. */
"use strict";

(() => {
  const { api, errorText, esc, renderDelivery, followDelivery, debounce, savedSubs } = Dash;
  const form = document.getElementById("postback-form");
  const input = document.getElementById("postback-url");
  const button = document.getElementById("add-macro");
  const picker = document.getElementById("macro-picker");
  const search = document.getElementById("macro-search");
  const list = document.getElementById("macro-list");
  const empty = document.getElementById("macro-empty");
  const validation = document.getElementById("validation");
  const saveStatus = document.getElementById("save-status");
  const options = Array.from(list.querySelectorAll("[role=option]"));
  const testSubs = Array.from(document.querySelectorAll("#test-subs input"));
  const network = document.getElementById("network");

  /* Another network: reload with its macros in the picker, keeping the URL being typed. */
  network.addEventListener("change", () => {
    sessionStorage.setItem("postback-draft", input.value);
    const params = new URLSearchParams(location.search);
    params.set("network", network.value);
    location.search = params.toString();
  });
  const draft = sessionStorage.getItem("postback-draft");
  if (draft !== null) {
    sessionStorage.removeItem("postback-draft");
    input.value = draft;
  }

  /* Where the macro goes: the selection when the picker opened; `brace` is the typed "{". */
  let target = null;
  let active = -1;

  function visible() { return options.filter((o) => !o.hidden); }

  function highlight(index) {
    const shown = visible();
    options.forEach((o) => o.setAttribute("aria-selected", "false"));
    active = shown.length ? Math.max(0, Math.min(index, shown.length - 1)) : -1;
    if (active >= 0) {
      shown[active].setAttribute("aria-selected", "true");
      search.setAttribute("aria-activedescendant", shown[active].id);
      shown[active].scrollIntoView({ block: "nearest" });
    } else {
      search.removeAttribute("aria-activedescendant");
    }
  }

  function filter() {
    const q = search.value.trim().toLowerCase().replace(/[{}]/g, "");
    // "payout amount" finds {payout_amount}: underscores count as spaces on both sides.
    const words = q.replace(/_/g, " ");
    options.forEach((o) => {
      const text = o.textContent.toLowerCase();
      o.hidden = q !== "" && !text.includes(q) && !text.replace(/_/g, " ").includes(words);
    });
    empty.hidden = visible().length > 0;
    highlight(0);
  }

  function openPicker(brace) {
    target = { start: input.selectionStart, end: input.selectionEnd, brace };
    picker.hidden = false;
    button.setAttribute("aria-expanded", "true");
    search.value = "";
    filter();
    search.focus();
  }

  function closePicker() {
    picker.hidden = true;
    button.setAttribute("aria-expanded", "false");
    target = null;
    input.focus();
  }

  function choose(option) {
    if (!target) return;
    const macro = option.dataset.macro;
    const value = input.value;
    // Opened by typing "{": the macro replaces that brace, which sits just before the cursor.
    const start = target.brace && value[target.start - 1] === "{" ? target.start - 1 : target.start;
    input.value = value.slice(0, start) + macro + value.slice(target.end);
    const caret = start + macro.length;
    closePicker();
    input.setSelectionRange(caret, caret);
    validateSoon();
  }

  button.addEventListener("click", () => (picker.hidden ? openPicker(false) : closePicker()));
  input.addEventListener("input", (event) => {
    if (event.inputType === "insertText" && event.data === "{") {
      openPicker(true);
      return;
    }
    validateSoon();
  });
  search.addEventListener("input", filter);
  search.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
    else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
    else if (event.key === "Enter") {
      event.preventDefault();
      const shown = visible();
      if (active >= 0 && shown[active]) choose(shown[active]);
    } else if (event.key === "Escape") { event.preventDefault(); closePicker(); validateSoon(); }
  });
  options.forEach((option) => {
    option.addEventListener("mousedown", (event) => event.preventDefault());
    option.addEventListener("click", () => choose(option));
  });
  document.addEventListener("click", (event) => {
    if (!picker.hidden && !picker.contains(event.target) && event.target !== button) {
      picker.hidden = true;
      button.setAttribute("aria-expanded", "false");
      target = null;
    }
  });

  function showProblems(errors, warnings) {
    const items = errors.map((p) => '<li class="error">' + esc(p.message) + "</li>")
      .concat(warnings.map((p) => '<li class="warning">' + esc(p.message) + "</li>"));
    validation.innerHTML = items.length
      ? '<ul aria-label="Validation problems">' + items.join("") + "</ul>"
      : (input.value ? '<p class="ok">Looks good.</p>' : "");
    input.setAttribute("aria-invalid", errors.length ? "true" : "false");
  }

  let validated = 0;
  let savedUrl = input.value;
  async function validate() {
    const url = input.value;
    const ticket = ++validated;
    if (!url) { showProblems([], []); return; }
    const result = await api("POST", "/api/postbacks/validate", { url, network: network.value });
    if (ticket !== validated) return; // a newer keystroke already asked
    const data = (result.data && (result.data.error || result.data)) || {};
    if (Array.isArray(data.errors) || Array.isArray(data.warnings)) {
      showProblems(data.errors || [], data.warnings || []);
    } else {
      validation.innerHTML = '<p class="error">Could not validate: ' + esc(errorText(result)) + "</p>";
    }
  }
  const validateSoon = debounce(validate, 250);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = form.dataset.postbackId;
    saveStatus.textContent = "Saving…";
    const fields = { url: input.value, network: network.value };
    let result = id
      ? await api("PATCH", "/api/postbacks/" + id, fields)
      : await api("POST", "/api/postbacks", fields);
    if (id && result.status === 405) result = await api("PUT", "/api/postbacks/" + id, fields);
    if (!result.ok) {
      saveStatus.textContent = "Not saved: " + errorText(result);
      saveStatus.className = "error";
      const err = (result.data && result.data.error) || {};
      if (err.errors) showProblems(err.errors, err.warnings || []);
      return;
    }
    form.dataset.postbackId = result.data.id;
    savedUrl = result.data.url;
    saveStatus.textContent = "Saved postback " + result.data.id + ".";
    saveStatus.className = "ok";
    showProblems([], result.data.warnings || []);
  });

  const enableButton = document.getElementById("enable-postback");
  if (enableButton) {
    enableButton.addEventListener("click", async () => {
      const status = document.getElementById("enable-status");
      const result = await api("PATCH", "/api/postbacks/" + form.dataset.postbackId, { enabled: true });
      if (!result.ok) {
        status.textContent = "Not enabled: " + errorText(result);
        status.className = "error";
        return;
      }
      document.getElementById("postback-disabled").innerHTML =
        '<p class="ok" role="status">Postback ' + esc(result.data.id) + " is enabled again.</p>";
    });
  }

  const fireButton = document.getElementById("fire-test");
  const testResult = document.getElementById("test-result");
  fireButton.addEventListener("click", async () => {
    const id = form.dataset.postbackId;
    fireButton.disabled = true;
    testResult.innerHTML = "<p>Firing…</p>";
    const body = id ? { postback_id: Number(id) } : {};
    testSubs.forEach((s) => { if (s.value) body[s.dataset.sub] = s.value; });
    const result = await api("POST", "/api/postbacks/test", body);
    if (!result.ok) {
      testResult.innerHTML = '<p class="error">' + esc(errorText(result)) + "</p>";
      fireButton.disabled = false;
      return;
    }
    const conversion = result.data;
    const ids = conversion.delivery_ids || (conversion.deliveries || []).map((d) => d.id);
    const head = '<p>Test conversion <code>' + esc(conversion.conversion_id) + "</code> on click <code>" +
      esc(conversion.unique_click_id) + "</code>, payout " + esc(conversion.payout) + " " +
      esc(conversion.currency) + ".</p>";
    const boxes = ids.map((d) => '<div id="test-delivery-' + esc(d) + '"></div>').join("");
    const stale = input.value !== savedUrl
      ? '<p class="warning">The URL above has unsaved changes: this test used the saved postback. Save to test your edits.</p>' : "";
    testResult.innerHTML = head + stale + (boxes || '<p class="muted">No postback fired.</p>');
    await Promise.all(ids.map((d) => followDelivery(d, (delivery, error) => {
      const box = document.getElementById("test-delivery-" + d);
      box.innerHTML = error ? '<p class="error">' + esc(error) + "</p>" : renderDelivery(delivery);
    })));
    fireButton.disabled = false;
  });

  const remembered = savedSubs();
  testSubs.forEach((s) => { s.value = remembered[s.dataset.sub] || ""; });

  if (input.value) validate();
})();
