// Passkeys on Ostiary's sign-in pages. A page that offers a passkey loads
// this file (its CSP allows this one same-origin script, nothing inline).
// Each form with a data-passkey attribute ("get" to sign in, "create" to
// register) carries the WebAuthn options in data-passkey-options and the
// challenge's opaque handle in a hidden field. On submit, this
// script asks the browser for the passkey, puts its answer (JSON) in the
// form's ostiary_passkey_response field and submits the form. The forms
// stay hidden where the browser cannot do WebAuthn or script is off.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials || !window.JSON || !window.atob) {
    return;
  }

  function fromB64u(s) {
    s = String(s).replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toB64u(buf) {
    if (!buf) {
      return undefined;
    }
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function credentialIDs(list) {
    return (list || []).map(function (c) {
      var d = { type: c.type, id: fromB64u(c.id) };
      if (c.transports) {
        d.transports = c.transports;
      }
      return d;
    });
  }

  // publicKey turns the server's JSON options into what the browser takes.
  function publicKey(mode, pk) {
    if (mode === "create") {
      if (window.PublicKeyCredential.parseCreationOptionsFromJSON) {
        return window.PublicKeyCredential.parseCreationOptionsFromJSON(pk);
      }
      pk.challenge = fromB64u(pk.challenge);
      pk.user.id = fromB64u(pk.user.id);
      pk.excludeCredentials = credentialIDs(pk.excludeCredentials);
      return pk;
    }
    if (window.PublicKeyCredential.parseRequestOptionsFromJSON) {
      return window.PublicKeyCredential.parseRequestOptionsFromJSON(pk);
    }
    pk.challenge = fromB64u(pk.challenge);
    pk.allowCredentials = credentialIDs(pk.allowCredentials);
    return pk;
  }

  // answer is the credential as JSON (PublicKeyCredential.toJSON()).
  function answer(cred) {
    if (typeof cred.toJSON === "function") {
      try {
        return cred.toJSON();
      } catch (e) {
        // Fall through to encoding it here.
      }
    }
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toB64u(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64u(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64u(r.attestationObject);
      if (typeof r.getTransports === "function") {
        out.response.transports = r.getTransports();
      }
    } else {
      out.response.authenticatorData = toB64u(r.authenticatorData);
      out.response.signature = toB64u(r.signature);
      out.response.userHandle = toB64u(r.userHandle);
    }
    return out;
  }

  function setup(form) {
    var mode = form.getAttribute("data-passkey");
    var raw = form.getAttribute("data-passkey-options");
    var field = form.elements.namedItem("ostiary_passkey_response");
    if ((mode !== "get" && mode !== "create") || !raw || !field) {
      return;
    }
    try {
      JSON.parse(raw);
    } catch (e) {
      return;
    }
    var button = form.querySelector("button");
    var status = form.querySelector("[data-passkey-error]");
    var busy = false;
    form.hidden = false;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (busy) {
        return;
      }
      busy = true;
      if (button) {
        button.disabled = true;
      }
      if (status) {
        status.hidden = true;
      }
      var opts = JSON.parse(raw); // fresh each time: publicKey() converts in place
      var req;
      try {
        req = mode === "create"
          ? navigator.credentials.create({ publicKey: publicKey(mode, opts.publicKey) })
          : navigator.credentials.get({ publicKey: publicKey(mode, opts.publicKey) });
      } catch (e) {
        req = Promise.reject(e);
      }
      req.then(function (cred) {
        if (!cred) {
          throw new Error("no credential");
        }
        field.value = JSON.stringify(answer(cred));
        form.submit(); // does not fire "submit" again
      }).catch(function () {
        busy = false;
        if (button) {
          button.disabled = false;
        }
        if (status) {
          status.hidden = false;
        }
      });
    });
  }

  var forms = document.querySelectorAll("form[data-passkey]");
  for (var i = 0; i < forms.length; i++) {
    setup(forms[i]);
  }
})();
