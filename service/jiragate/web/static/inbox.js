// Jiragate review inbox: small progressive enhancements. Every page works without this.
// - The queue polls a tiny JSON endpoint and swaps in the fresh list when it changed.
// - A decided action's page polls its status and reloads when Jira is done.
(function () {
  "use strict";

  function pollQueue(region) {
    var seconds = Number(region.getAttribute("data-poll-seconds")) || 5;
    var url = region.getAttribute("data-poll-url");
    var note = document.getElementById("queue-updated");
    var busy = false;
    setInterval(function () {
      if (busy || document.hidden) return;
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (state) {
          if (!state || state.fingerprint === region.getAttribute("data-fingerprint")) return null;
          return fetch(window.location.href, { credentials: "same-origin" })
            .then(function (r) { return r.ok ? r.text() : null; })
            .then(function (html) {
              if (!html) return;
              // The server escaped everything in this HTML; DOMParser never runs its scripts.
              var doc = new DOMParser().parseFromString(html, "text/html");
              var fresh = doc.getElementById("queue");
              if (!fresh) return;
              var hadFocus = region.contains(document.activeElement);
              region.replaceChildren.apply(region, Array.prototype.slice.call(fresh.childNodes));
              region.setAttribute("data-fingerprint", fresh.getAttribute("data-fingerprint"));
              document.title = doc.title;
              if (note) note.textContent = "Updated " + new Date().toLocaleTimeString() + ": " + state.count + " waiting";
              if (hadFocus) region.focus();
            });
        })
        .catch(function () { /* offline for a moment: try again on the next tick */ })
        .then(function () { busy = false; });
    }, seconds * 1000);
  }

  function pollStatus(el) {
    var url = el.getAttribute("data-status-url");
    var initial = el.getAttribute("data-status");
    var timer = setInterval(function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (state) {
          if (state && state.status !== initial) {
            clearInterval(timer);
            window.location.reload();
          }
        })
        .catch(function () {});
    }, 1500);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var region = document.querySelector("[data-poll-url]");
    if (region) {
      region.setAttribute("tabindex", "-1");
      pollQueue(region);
    }
    var status = document.querySelector("[data-status-url]");
    if (status) pollStatus(status);
  });
})();
