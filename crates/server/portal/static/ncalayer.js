// Signing with one's own ЭЦП through NCALayer, the national signing client on the user's
// computer (a WebSocket service, wss://127.0.0.1:13579). The key never leaves that computer:
// the page fetches the document to sign, NCALayer shows its key dialog and returns a
// detached CMS, and the page posts the document and the CMS to kuelik, which verifies them.
//
// NCALayer speaks two request forms and sites use both: the `kz.gov.pki.knca.basics` module
// (named arguments; answer {status, body: {result}}) and the older
// `kz.gov.pki.knca.commonUtils` (positional arguments; answer {code, responseObject}). The
// basics form is asked first; an NCALayer without that module answers MODULE_NOT_FOUND and
// is asked in the commonUtils form.
//
// A box marked [data-ncalayer-sign] holds the form (hidden fields `document`, `signature`),
// the button, a status line and, in data-msg-* attributes, the messages in the page's
// language.
(function () {
  "use strict";

  var box = document.querySelector("[data-ncalayer-sign]");
  if (!box || typeof WebSocket === "undefined" || typeof fetch === "undefined") { return; }
  var form = box.querySelector("form");
  var button = box.querySelector("button");
  var status = box.querySelector("[role=status]");
  var SIGNING_KEY_USAGE = "1.3.6.1.5.5.7.3.4"; // НУЦ РК signing keys (not authentication)
  var CONNECT_TIMEOUT_MS = 5000;
  box.hidden = false;

  function message(name) { return box.getAttribute("data-msg-" + name) || name; }

  function say(text, isError) {
    status.textContent = text;
    status.classList.toggle("field-error", !!isError);
  }

  // Base64 of the UTF-8 bytes of `text` (the document is UTF-8 JSON).
  function base64(text) {
    var bytes = new TextEncoder().encode(text);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary);
  }

  function Failure(kind, detail) { this.kind = kind; this.detail = detail || ""; }

  // Opens the WebSocket and waits for NCALayer's greeting ({"result":{"version":…}}).
  function connect(url) {
    return new Promise(function (resolve, reject) {
      var socket;
      try { socket = new WebSocket(url); } catch (e) { reject(new Failure("not-running")); return; }
      var timer = setTimeout(function () { socket.close(); reject(new Failure("not-running")); }, CONNECT_TIMEOUT_MS);
      socket.onerror = function () { clearTimeout(timer); reject(new Failure("not-running")); };
      socket.onclose = function () { clearTimeout(timer); reject(new Failure("not-running")); };
      socket.onmessage = function (event) {
        clearTimeout(timer);
        var greeting = parse(event.data);
        if (greeting && greeting.result && greeting.result.version) { resolve(socket); }
        else { socket.close(); reject(new Failure("failed", "unexpected greeting")); }
      };
    });
  }

  function parse(text) { try { return JSON.parse(text); } catch (e) { return null; } }

  // Sends one request and resolves with the next answer that is not a heartbeat.
  function ask(socket, request) {
    return new Promise(function (resolve, reject) {
      socket.onclose = function () { reject(new Failure("failed", "NCALayer closed the connection")); };
      socket.onerror = function () { reject(new Failure("failed", "NCALayer connection error")); };
      socket.onmessage = function (event) {
        if (event.data === "--heartbeat--") { return; }
        var answer = parse(event.data);
        if (answer) { resolve(answer); } else { reject(new Failure("failed", "not JSON")); }
      };
      socket.send(JSON.stringify(request));
    });
  }

  function basicsRequest(data) {
    return {
      module: "kz.gov.pki.knca.basics",
      method: "sign",
      args: {
        allowedStorages: null,
        format: "cms",
        data: data,
        signingParams: { decode: true, encapsulate: false, digested: false, tsaProfile: null },
        signerParams: { extKeyUsageOids: [SIGNING_KEY_USAGE], chain: [] },
        locale: document.documentElement.lang || "ru",
      },
    };
  }

  function commonUtilsRequest(data) {
    return {
      module: "kz.gov.pki.knca.commonUtils",
      method: "createCMSSignatureFromBase64",
      args: ["PKCS12", "SIGNATURE", data, false],
    };
  }

  // The CMS (base64) from a basics answer, or the reason there is none.
  function fromBasics(answer) {
    if (answer.status === true) {
      var result = answer.body && answer.body.result;
      if (Array.isArray(result)) { result = result[0]; }
      if (typeof result === "string" && result) { return result; }
      throw new Failure("cancelled"); // NCALayer answers an empty body when the user cancels
    }
    throw new Failure("failed", [answer.code, answer.message].filter(Boolean).join(": "));
  }

  function fromCommonUtils(answer) {
    if (answer.code === "200" && typeof answer.responseObject === "string") { return answer.responseObject; }
    if (answer.message === "action.canceled") { throw new Failure("cancelled"); }
    throw new Failure("failed", [answer.code, answer.message].filter(Boolean).join(": "));
  }

  function moduleMissing(answer) {
    return answer && answer.success === false && answer.errorCode === "MODULE_NOT_FOUND";
  }

  async function sign() {
    button.disabled = true;
    say(message("connecting"));
    var socket = null;
    try {
      var response = await fetch(box.getAttribute("data-document-url"), { credentials: "same-origin", headers: { accept: "application/json" } });
      if (!response.ok) {
        var problem = parse(await response.text()) || {};
        throw new Failure("refused", problem.detail || problem.title || String(response.status));
      }
      var documentText = await response.text();
      socket = await connect(box.getAttribute("data-ncalayer-url"));
      say(message("waiting"));
      var data = base64(documentText);
      var answer = await ask(socket, basicsRequest(data));
      var cms = moduleMissing(answer)
        ? fromCommonUtils(await ask(socket, commonUtilsRequest(data)))
        : fromBasics(answer);
      socket.close();
      say(message("sending"));
      form.elements.document.value = documentText;
      form.elements.signature.value = cms;
      form.submit();
    } catch (e) {
      if (socket) { socket.onclose = null; socket.close(); }
      button.disabled = false;
      if (!(e instanceof Failure)) { say(message("failed") + " (" + e + ")", true); return; }
      if (e.kind === "refused") { say(e.detail, true); return; }
      say(message(e.kind) + (e.detail ? " (" + e.detail + ")" : ""), true);
    }
  }

  button.addEventListener("click", sign);
})();
