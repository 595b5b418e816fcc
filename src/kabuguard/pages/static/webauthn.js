// The only script of the hosted pages: WebAuthn calls for buttons marked data-webauthn.
// Options come from the server (base64url fields), the credential goes back as JSON; the
// server checks everything. Without JavaScript the buttons stay hidden and forms still work.
(function () {
  "use strict";

  function toBuffer(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creation(options) {
    options.challenge = toBuffer(options.challenge);
    options.user.id = toBuffer(options.user.id);
    (options.excludeCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
    return options;
  }

  function request(options) {
    options.challenge = toBuffer(options.challenge);
    (options.allowCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
    return options;
  }

  function asJson(credential) {
    var r = credential.response;
    var out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || null,
      response: { clientDataJSON: toText(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toText(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toText(r.authenticatorData);
      out.response.signature = toText(r.signature);
      out.response.userHandle = r.userHandle ? toText(r.userHandle) : null;
    }
    return out;
  }

  function post(url, body) {
    var token = document.querySelector('meta[name="csrf-token"]').content;
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": token },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          // Only the pages' own answers are written for the customer: they say their language.
          var said = response.headers.get("content-language") && data.error && data.error.message;
          var refused = new Error(said || response.statusText);
          refused.said = Boolean(said);
          throw refused;
        }
        return data;
      });
    });
  }

  function run(button) {
    var status = document.getElementById("webauthn-status");
    var name = document.getElementById("passkey-name");
    var kind = button.getAttribute("data-webauthn");
    var challenge;
    button.disabled = true;
    status.classList.remove("error");
    status.textContent = button.getAttribute("data-waiting");
    post(button.getAttribute("data-options"), {}).then(function (options) {
      challenge = options.challenge_id;
      return kind === "register"
        ? navigator.credentials.create({ publicKey: creation(options.public_key) })
        : navigator.credentials.get({ publicKey: request(options.public_key) });
    }).then(function (credential) {
      return post(button.getAttribute("data-verify"), {
        challenge_id: challenge,
        credential: asJson(credential),
        name: name ? name.value : null
      });
    }).then(function (done) {
      window.location.assign(done.next);
    }).catch(function (error) {
      // The server's reason, in the page's language; anything else (a cancelled prompt, a
      // network error, the browser's English) gets the page's own "try again".
      if (window.console) { window.console.warn(error); }
      status.classList.add("error");
      status.textContent = error && error.said ? error.message : button.getAttribute("data-failed");
      button.disabled = false;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!(window.PublicKeyCredential && navigator.credentials)) { return; }
    document.querySelectorAll("[data-webauthn]").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function (event) {
        event.preventDefault();
        run(button);
      });
    });
  });
})();
