// mPanel's only script of its own (the CSP forbids inline code). Everything works without it;
// it only smooths what htmx does:
// - buttons marked data-print open the browser's print dialog;
// - one message per action: a new action clears the previous message and toasts;
// - after an htmx swap caused by the person (not a poll), focus moves to the updated region's
//   message, or else its heading, so keyboard and screen-reader users land where things changed.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target instanceof Element && target.closest("[data-print]")) {
      event.preventDefault();
      window.print();
    }
  });

  function byPerson(detail) {
    var cfg = detail && detail.requestConfig;
    return !!(cfg && cfg.triggeringEvent);
  }

  function clear(id) {
    var el = document.getElementById(id);
    if (el) {
      el.replaceChildren();
    }
  }

  // A new action by the person: the previous action's messages are stale.
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (byPerson(event.detail)) {
      clear("toasts");
    }
  });

  function focusIn(region) {
    if (!region) {
      return false;
    }
    // the message first, else the heading (querySelector with a list would take whichever
    // comes first in the document)
    var el = null;
    var wanted = [".flash[role=alert]", ".flash", "[role=alert]", "h1", "h2"];
    for (var i = 0; i < wanted.length && !el; i++) {
      el = region.querySelector(wanted[i]);
    }
    if (!el) {
      return false;
    }
    if (!el.hasAttribute("tabindex")) {
      el.setAttribute("tabindex", "-1");
    }
    el.focus({ preventScroll: false });
    return document.activeElement === el;
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    var detail = event.detail || {};
    if (!byPerson(detail)) {
      return;
    }
    var target = detail.target;
    if (target && target.id === "toasts") {
      return; // an error toast: focus stays on the control that was used
    }
    if (target === document.body) {
      // a boosted navigation: the new page's message, else its main heading
      focusIn(document.getElementById("main"));
      return;
    }
    // a region of the page was replaced: the page-level message above it is stale now
    clear("messages");
    // outerHTML swaps replace the target element: find the new one by its id
    var region = target && target.id ? document.getElementById(target.id) : target;
    if (region && !document.body.contains(region)) {
      region = null;
    }
    if (!focusIn(region)) {
      focusIn(document.getElementById("main"));
    }
  });
})();
