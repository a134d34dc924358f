/* Conversions & deliveries: fire conversions and events on a click, retry and replay. */
"use strict";

(() => {
  const { api, errorText, esc, renderDelivery, followDelivery } = Dash;
  const form = document.getElementById("conversion-form");
  const out = document.getElementById("conversion-result");

  function value(id) { return document.getElementById(id).value.trim(); }

  async function follow(ids, box) {
    box.innerHTML += ids.map((d) => '<div id="followed-' + esc(d) + '"></div>').join("");
    await Promise.all(ids.map((d) => followDelivery(d, (delivery, error) => {
      const slot = document.getElementById("followed-" + d);
      slot.innerHTML = error ? '<p class="error">' + esc(error) + "</p>" : renderDelivery(delivery);
    })));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { click: value("click"), kind: value("kind") };
    if (value("event-name")) body.event_name = value("event-name");
    if (value("payout")) body.payout = Number(value("payout"));
    if (value("currency")) body.currency = value("currency").toUpperCase();
    if (value("at")) body.at = value("at").length === 16 ? value("at") + ":00Z" : value("at") + "Z";
    out.innerHTML = "<p>Firing…</p>";
    const result = await api("POST", "/api/conversions", body);
    if (!result.ok) { out.innerHTML = '<p class="error">' + esc(errorText(result)) + "</p>"; return; }
    const c = result.data;
    const ids = c.delivery_ids || [];
    out.innerHTML = "<p>" + esc(c.kind === "event" ? "Event" : "Conversion") + " <code>" +
      esc(c.conversion_id) + "</code>: " + esc(c.event_name) + ", " + esc(c.payout) + " " +
      esc(c.currency) + ", " + esc(c.status) + ". " +
      (ids.length ? ids.length + " postback(s) queued." : "No postback fired.") + "</p>";
    await follow(ids, out);
  });

  const actionOut = document.getElementById("action-result");
  document.querySelectorAll("button[data-action]").forEach((button) => {
    button.addEventListener("click", async () => {
      const { action, id } = button.dataset;
      actionOut.innerHTML = "<p>" + esc(action) + " of delivery " + esc(id) + "…</p>";
      const result = await api("POST", "/api/deliveries/" + id + "/" + action);
      if (!result.ok) { actionOut.innerHTML = '<p class="error">' + esc(errorText(result)) + "</p>"; return; }
      actionOut.innerHTML = "<p>" + (action === "replay" ? "Replayed as delivery " : "Retrying delivery ") +
        esc(result.data.id) + ' (<a href="">reload the log</a>).</p>';
      await follow([result.data.id], actionOut);
    });
  });
})();
