// mPanel's only script of its own (the CSP forbids inline code). Everything works without it;
// it only smooths what htmx does:
// - buttons marked data-print open the browser's print dialog;
// - one message per action: a new action clears the previous message and toasts;
// - after an htmx swap caused by the person (not a poll), focus moves to the updated region's
//   message, or else its heading, so keyboard and screen-reader users land where things changed;
// - confirm once: a form with data-confirm (or whose chosen <option> has one) asks in a native
//   <dialog> before it is sent, then is sent once with confirm=yes (without JavaScript the server
//   answers a confirmation page instead);
// - Copy buttons (hidden without JavaScript) put a secret or a long id on the clipboard and say
//   "Copied" in a status region.
// - ops overview tiles poll only while the tab is visible and are marked stale, keeping their
//   last figures, when a refresh fails.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

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

  // ------------------------------------------------------------------ confirm once

  function confirmText(form) {
    if (form.dataset.confirm) {
      return { text: form.dataset.confirm, button: form.dataset.confirmButton };
    }
    var options = form.querySelectorAll("select option[data-confirm]");
    for (var i = 0; i < options.length; i++) {
      if (options[i].selected && !options[i].defaultSelected) {
        return { text: options[i].dataset.confirm, button: options[i].dataset.confirmButton };
      }
    }
    return null;
  }

  var dialog = null;
  function confirmDialog() {
    if (dialog) {
      return dialog;
    }
    dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-text");
    var p = document.createElement("p");
    p.id = "confirm-dialog-text";
    var bar = document.createElement("form");
    bar.method = "dialog";
    bar.className = "action-bar";
    var cancel = document.createElement("button");
    cancel.value = "cancel";
    cancel.className = "secondary outline";
    cancel.textContent = "Cancel";
    var ok = document.createElement("button");
    ok.value = "ok";
    ok.className = "destructive";
    bar.append(ok, cancel);
    var article = document.createElement("article");
    article.append(p, bar);
    dialog.append(article);
    document.body.append(dialog);
    return dialog;
  }

  // Asks; calls yes() when confirmed. Escape or Cancel closes it; focus returns to `back`.
  function ask(question, button, back, yes) {
    var d = confirmDialog();
    d.querySelector("p").textContent = question;
    var ok = d.querySelector("button[value=ok]");
    ok.textContent = button || "Confirm";
    d.returnValue = "";
    d.addEventListener(
      "close",
      function () {
        if (back && document.body.contains(back)) {
          back.focus();
        }
        if (d.returnValue === "ok") {
          yes();
        }
      },
      { once: true }
    );
    d.showModal();
    d.querySelector("button[value=cancel]").focus();
  }

  function markConfirmed(form) {
    var field = form.querySelector("input[name=confirm][type=hidden]");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "confirm";
      form.append(field);
    }
    field.value = "yes";
  }

  // Capture phase on the document: this runs before htmx's own listener on the form, so a
  // boosted or hx-post form is held back as well as a plain one.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      if (!(form instanceof HTMLFormElement) || form.dataset.confirming === "yes") {
        return;
      }
      var c = confirmText(form);
      if (!c) {
        return;
      }
      event.preventDefault();
      event.stopImmediatePropagation();
      var submitter = event.submitter || form.querySelector("[type=submit]");
      ask(c.text, c.button, submitter, function () {
        markConfirmed(form);
        form.dataset.confirming = "yes";
        try {
          form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
        } finally {
          delete form.dataset.confirming;
        }
      });
    },
    true
  );

  // ------------------------------------------------------------------ copy buttons

  function announce(message) {
    var region = document.getElementById("copy-status");
    if (!region) {
      region = document.createElement("p");
      region.id = "copy-status";
      region.className = "visually-hidden";
      region.setAttribute("role", "status");
      document.body.append(region);
    }
    region.textContent = "";
    window.setTimeout(function () {
      region.textContent = message;
    }, 50);
  }

  function showCopyButtons(root) {
    if (!navigator.clipboard) {
      return;
    }
    root.querySelectorAll("button.copy[hidden]").forEach(function (b) {
      b.hidden = false;
    });
  }
  showCopyButtons(document);
  document.addEventListener("htmx:load", function (event) {
    if (event.target instanceof Element) {
      showCopyButtons(event.target);
    }
  });

  document.addEventListener("click", function (event) {
    var b = event.target instanceof Element ? event.target.closest("button.copy") : null;
    if (!b) {
      return;
    }
    event.preventDefault();
    var text = b.dataset.copyText;
    if (text === undefined) {
      var source = document.getElementById(b.dataset.copy || "");
      text = source ? ("value" in source ? source.value : source.textContent) : "";
    }
    navigator.clipboard.writeText(text.trim()).then(
      function () {
        b.classList.add("copied");
        announce("Copied");
      },
      function () {
        announce("Could not copy: select the text and copy it yourself.");
      }
    );
  });

  // ---- ops overview tiles ([data-tile]) ----
  // A tile polls its own fragment (hx-trigger "every Ns, ops-refresh"). While the tab is
  // hidden its polls are skipped, and it refreshes at once when the tab is shown again. A
  // failed refresh (an error answer, no answer, or something that is not a tile, such as the
  // sign-in page after the session ended) keeps the last figures and marks the tile stale.
  function isTile(el) {
    return el instanceof Element && el.hasAttribute("data-tile");
  }

  function markStale(tile) {
    tile.classList.add("stale");
    var note = tile.querySelector(".stale-note");
    if (note) {
      note.hidden = false;
    }
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (isTile(event.detail.elt) && document.visibilityState === "hidden") {
      event.preventDefault();
    }
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    var tile = event.detail.elt;
    if (!isTile(tile)) {
      return;
    }
    var text = event.detail.xhr ? event.detail.xhr.responseText || "" : "";
    if (event.detail.isError || text.indexOf("data-tile") < 0) {
      event.detail.shouldSwap = false;
      event.detail.isError = false;
      markStale(tile);
    }
  });

  ["htmx:sendError", "htmx:timeout", "htmx:responseError"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (isTile(event.detail.elt)) {
        markStale(event.detail.elt);
      }
    });
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible" || !window.htmx) {
      return;
    }
    document.querySelectorAll("[data-tile]").forEach(function (tile) {
      window.htmx.trigger(tile, "ops-refresh");
    });
  });
})();
