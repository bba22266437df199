// Jiragate review inbox: small progressive enhancements. Every page works without this.
// - The queue polls a tiny JSON endpoint and swaps in the fresh list when it changed.
// - A decided action's page polls its status and reloads when Jira is done.
// - Keyboard shortcuts: j/k next/previous, a approve, r reject, e edit, / search; never
//   while typing in a field, never with Ctrl/Alt/Meta.
// - Enter in a field of the decision form previews; it never approves (the server asks to
//   confirm an edited or destructive approval anyway; this keeps Enter from even asking).
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

  function typing(target) {
    if (!target || !target.tagName) return false;
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function queueKeys(event) {
    var links = Array.prototype.slice.call(document.querySelectorAll("#queue a.summary"));
    if (!links.length) return false;
    var at = links.indexOf(document.activeElement);
    if (event.key === "j" || event.key === "k") {
      var next = event.key === "j" ? at + 1 : at - 1;
      if (at < 0) next = event.key === "j" ? 0 : links.length - 1;
      next = Math.max(0, Math.min(links.length - 1, next));
      var current = document.querySelector("tr.is-current");
      if (current) current.classList.remove("is-current");
      links[next].closest("tr").classList.add("is-current");
      links[next].focus();
      return true;
    }
    return false;
  }

  function detailKeys(event) {
    var key = event.key;
    var target = document.querySelector('[data-key="' + key + '"]');
    if ((key === "j" || key === "k") && target) { window.location.href = target.getAttribute("href"); return true; }
    if ((key === "a" || key === "r") && target) { target.click(); return true; }
    if (key === "e") {
      var field = document.querySelector("table.tickets input[type=text], .edits input:not([type=hidden]), .edits select, .edits textarea");
      if (field) { field.focus(); if (field.select) field.select(); return true; }
    }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && typing(event.target) && event.target.tagName.toLowerCase() !== "textarea") {
      var form = event.target.form;
      var preview = document.querySelector("button.default-preview");
      if (form && form.id === "decide" && preview) {
        event.preventDefault();
        preview.click();
      }
      return;
    }
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    if (event.key === "/") {
      var search = document.getElementById("f-q");
      if (search) { event.preventDefault(); search.focus(); }
      return;
    }
    if (queueKeys(event) || detailKeys(event)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    // A refusal or a confirmation is where the eye is: scrolled to and focused on arrival.
    var first = document.getElementById("refusal") || document.getElementById("confirm");
    if (first) {
      first.scrollIntoView({ block: "start" });
      (document.getElementById("refusal") || document.getElementById("confirm-h")).focus({ preventScroll: true });
    }
    var region = document.querySelector("[data-poll-url]");
    if (region) {
      region.setAttribute("tabindex", "-1");
      pollQueue(region);
    }
    var status = document.querySelector("[data-status-url]");
    if (status) pollStatus(status);
  });
})();
