// Passkeys (WebAuthn): the ceremony script, a file of its own so the CSP stays strict (no
// inline code). The server gives the options as JSON (binary fields in base64url), this script
// turns them into what navigator.credentials.create/get take, and posts the authenticator's
// answer back as JSON (base64url again). The server keeps each ceremony, checks everything and
// answers {"redirect": url} or {"error": text}.
// - form[data-passkey-register]: adds a passkey named by its "name" field
//   (/security/mfa/passkeys/options, then /security/mfa/passkeys);
// - button[data-passkey-signin="/login/passkey"]: signs in with a passkey alone;
//   button[data-passkey-signin="/login/mfa/passkey"]: the passkey after the password.
// Both are hidden until this script shows them; without JavaScript (or WebAuthn) the page says
// passkeys need it and offers the other ways in.
(function () {
  "use strict";

  var supported = !!(window.PublicKeyCredential && navigator.credentials &&
    navigator.credentials.create && navigator.credentials.get && window.fetch);

  function reveal(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var selector = supported
      ? "[data-passkey-register][hidden], [data-passkey-signin][hidden]"
      : "[data-passkey-unsupported][hidden]";
    scope.querySelectorAll(selector).forEach(function (el) {
      el.hidden = false;
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { reveal(document); });
  } else {
    reveal(document);
  }
  document.addEventListener("htmx:load", function (event) { reveal(event.target); });

  if (!supported) {
    return;
  }

  // ---------------------------------------------------------------- base64url <-> bytes

  function toBytes(b64url) {
    var b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var raw = atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toB64url(buffer) {
    if (!buffer) {
      return null;
    }
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) {
      raw += String.fromCharCode(bytes[i]);
    }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (c) {
      var copy = Object.assign({}, c);
      copy.id = toBytes(c.id);
      return copy;
    });
  }

  function creationOptions(options) {
    var pk = Object.assign({}, options.publicKey);
    pk.challenge = toBytes(pk.challenge);
    pk.user = Object.assign({}, pk.user, { id: toBytes(pk.user.id) });
    if (pk.excludeCredentials) {
      pk.excludeCredentials = withIds(pk.excludeCredentials);
    }
    return { publicKey: pk };
  }

  function requestOptions(options) {
    var pk = Object.assign({}, options.publicKey);
    pk.challenge = toBytes(pk.challenge);
    if (pk.allowCredentials) {
      pk.allowCredentials = withIds(pk.allowCredentials);
    }
    return { publicKey: pk };
  }

  function registrationJson(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        attestationObject: toB64url(r.attestationObject),
        clientDataJSON: toB64url(r.clientDataJSON),
        transports: r.getTransports ? r.getTransports() : []
      },
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
  }

  function assertionJson(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: {
        authenticatorData: toB64url(r.authenticatorData),
        clientDataJSON: toB64url(r.clientDataJSON),
        signature: toB64url(r.signature),
        userHandle: toB64url(r.userHandle)
      },
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {}
    };
  }

  // ---------------------------------------------------------------- talking to the server

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () {
        return { error: "The panel could not complete this request. Try again." };
      }).then(function (data) {
        if (!res.ok && !data.error) {
          data.error = "The panel could not complete this request. Try again.";
        }
        return data;
      });
    });
  }

  function explain(err) {
    if (err && err.name === "NotAllowedError") {
      return "The passkey request was cancelled or timed out. Try again.";
    }
    if (err && err.name === "InvalidStateError") {
      return "This authenticator already holds a passkey for your account.";
    }
    return "Your browser could not use a passkey" + (err && err.message ? ": " + err.message : ".");
  }

  function say(status, text) {
    if (status) {
      status.textContent = text;
    }
  }

  function finish(data, status, busy) {
    if (data.redirect && !data.error) {
      window.location.assign(data.redirect);
      return;
    }
    say(status, data.error || "");
    busy(false);
    if (data.redirect) {
      window.setTimeout(function () { window.location.assign(data.redirect); }, 2500);
    }
  }

  // One ceremony: options from `base + "/options"`, the browser's dialog, the answer to `base`.
  function ceremony(base, start, get, toJson, extra, status, busy) {
    busy(true);
    say(status, "");
    post(base + "/options", start).then(function (started) {
      if (started.error) {
        finish(started, status, busy);
        return null;
      }
      return get(started.options).then(function (cred) {
        var body = Object.assign({ ceremony: started.ceremony, credential: toJson(cred) }, extra);
        return post(base, body).then(function (data) {
          finish(data, status, busy);
        });
      });
    }).catch(function (err) {
      say(status, explain(err));
      busy(false);
    });
  }

  function busyButton(button) {
    return function (on) {
      if (button) {
        button.disabled = on;
        button.setAttribute("aria-busy", on ? "true" : "false");
      }
    };
  }

  document.addEventListener("submit", function (event) {
    var form = event.target instanceof Element ? event.target.closest("form[data-passkey-register]") : null;
    if (!form) {
      return;
    }
    event.preventDefault();
    var name = form.querySelector("[name=name]");
    ceremony(
      form.getAttribute("action"),
      { name: name ? name.value : "" },
      function (options) { return navigator.credentials.create(creationOptions(options)); },
      registrationJson,
      {},
      form.querySelector("[data-passkey-status]"),
      busyButton(form.querySelector("button[type=submit]"))
    );
  });

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("button[data-passkey-signin]") : null;
    if (!button) {
      return;
    }
    event.preventDefault();
    var box = button.closest("[data-passkey-box]") || document;
    ceremony(
      button.getAttribute("data-passkey-signin"),
      {},
      function (options) { return navigator.credentials.get(requestOptions(options)); },
      assertionJson,
      { next: button.getAttribute("data-next") || "" },
      box.querySelector("[data-passkey-status]"),
      busyButton(button)
    );
  });
})();
