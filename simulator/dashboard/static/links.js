/* Links & Promotion: the tracking link follows the Sub IDs as they are typed; ad clicks fill a
   Sub ID slot with a click ID the mock platform issued; a click-through records a click. */
"use strict";

(() => {
  const { api, errorText, esc, savedSubs, saveSubs } = Dash;
  const card = document.getElementById("link-card");
  const offer = document.getElementById("offer");
  const link = document.getElementById("tracking-link");
  const toggle = document.getElementById("add-sub-ids");
  const subFields = document.getElementById("sub-ids");
  const slots = ["sub1", "sub2", "sub3", "sub4", "sub5"].map((s) => document.getElementById(s));

  /* Same shape as simulator.network.links.link_url: empty Sub IDs are left out. */
  function linkUrl() {
    const params = [["offer_id", offer.value]];
    slots.forEach((s) => { if (s.value) params.push([s.id, s.value]); });
    const query = params.map(([k, v]) => k + "=" + encodeURIComponent(v)).join("&");
    return card.dataset.baseUrl + "/click?" + query;
  }

  function update() {
    link.value = linkUrl();
    const subs = {};
    slots.forEach((s) => { subs[s.id] = s.value; });
    saveSubs(subs);
  }

  function showSubIds() {
    subFields.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
  }

  toggle.addEventListener("click", () => {
    if (subFields.hidden) { showSubIds(); slots[0].focus(); }
    else { subFields.hidden = true; toggle.setAttribute("aria-expanded", "false"); }
  });
  slots.forEach((s) => s.addEventListener("input", update));
  offer.addEventListener("change", update);

  document.getElementById("copy-link").addEventListener("click", async () => {
    const status = document.getElementById("copy-status");
    try { await navigator.clipboard.writeText(link.value); status.textContent = "Copied."; }
    catch (_) { link.select(); status.textContent = "Press Ctrl+C to copy."; }
  });

  document.getElementById("simulate-ad-click").addEventListener("click", async () => {
    const platform = document.getElementById("ad-platform").value;
    const slot = document.getElementById(document.getElementById("ad-slot").value);
    const out = document.getElementById("ad-result");
    const result = await api("POST", "/api/ad-clicks", { platform });
    if (!result.ok) { out.innerHTML = '<span class="error">' + esc(errorText(result)) + "</span>"; return; }
    showSubIds();
    slot.value = result.data.click_id;
    update();
    const name = document.getElementById("ad-platform").selectedOptions[0].textContent.split(" ")[0];
    out.innerHTML = "The " + esc(name) + " ad click issued " + esc(result.data.kind) +
      ' <code class="wrap">' + esc(result.data.click_id) + "</code>, now in " +
      esc(slot.labels[0].textContent) + ".";
  });

  document.getElementById("click-through").addEventListener("click", async () => {
    const out = document.getElementById("click-result");
    out.textContent = "Clicking…";
    try {
      await fetch(link.value, { redirect: "manual", credentials: "same-origin" });
    } catch (err) {
      out.innerHTML = '<span class="error">the tracking link failed: ' + esc(err.message) + "</span>";
      return;
    }
    const result = await api("GET", "/api/clicks?limit=1&offer_id=" + encodeURIComponent(offer.value));
    const click = result.ok && result.data && (result.data.clicks || [])[0];
    if (!click) { out.innerHTML = '<span class="error">' + esc(result.ok ? "no click was recorded" : errorText(result)) + "</span>"; return; }
    out.innerHTML = 'Click <code>' + esc(click.unique_click_id) + "</code> recorded from " +
      esc(click.ip) + " (" + esc(click.country) + '). <a href="/conversions?click=' +
      encodeURIComponent(click.unique_click_id) + '">Fire a conversion on it</a>.';
  });

  const remembered = savedSubs();
  slots.forEach((s) => { s.value = remembered[s.id] || ""; });
  if (slots.some((s) => s.value)) showSubIds();
  update();
})();
