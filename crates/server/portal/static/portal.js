// kuelik portal conveniences. Every flow works without this file: it only adds a preview of
// the chosen photo, drawing a signature on a canvas, the print button, and the ticket
// check symbol as you type at the registration point.
(function () {
  "use strict";

  // The error summary takes the focus, so a screen reader announces it first.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
  // The answer of the eligibility check is where the eye goes next (without scripts the
  // form's #check-result brings it into view).
  var result = document.getElementById("check-result");
  if (result && !summary) { result.focus(); result.scrollIntoView({ block: "start" }); }

  // Preview of the chosen image before uploading.
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    var input = form.querySelector("input[type=file]");
    var preview = form.querySelector("img.preview");
    if (!input || !preview) { return; }
    input.addEventListener("change", function () {
      if (input.files && input.files[0]) {
        preview.src = URL.createObjectURL(input.files[0]);
        preview.hidden = false;
      }
    });
  });

  // Drawing a signature: strokes on a canvas become a PNG put into the file field.
  document.querySelectorAll("[data-signature-pad]").forEach(function (pad) {
    var form = pad.closest("form");
    var canvas = pad.querySelector("canvas");
    var input = form && form.querySelector("input[type=file]");
    if (!canvas || !input || typeof DataTransfer === "undefined") { return; }
    pad.hidden = false;
    var ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.lineWidth = 3; ctx.lineCap = "round"; ctx.strokeStyle = "#111";
    var drawing = false, drawn = false;
    function at(e) {
      var r = canvas.getBoundingClientRect();
      return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height];
    }
    canvas.addEventListener("pointerdown", function (e) { drawing = true; var p = at(e); ctx.beginPath(); ctx.moveTo(p[0], p[1]); });
    canvas.addEventListener("pointermove", function (e) { if (!drawing) { return; } var p = at(e); ctx.lineTo(p[0], p[1]); ctx.stroke(); drawn = true; });
    ["pointerup", "pointerleave"].forEach(function (ev) { canvas.addEventListener(ev, function () { drawing = false; }); });
    pad.querySelector("[data-clear]").addEventListener("click", function () {
      ctx.fillRect(0, 0, canvas.width, canvas.height); drawn = false;
    });
    form.addEventListener("submit", function (e) {
      if (!drawn || (input.files && input.files.length)) { return; }
      e.preventDefault();
      canvas.toBlob(function (blob) {
        var dt = new DataTransfer();
        dt.items.add(new File([blob], "signature.png", { type: "image/png" }));
        input.files = dt.files;
        drawn = false;
        form.submit();
      }, "image/png");
    });
  });

  // Print button on the receipt.
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.hidden = false;
    b.addEventListener("click", function () { window.print(); });
  });

  // Ticket numbers (ABCDE-FGHJK) end with a Damm check symbol over GF(32), as in
  // kuelik_core::ticket: a typo or a swap of neighbours is caught as it is typed.
  var ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  function symbol(c) {
    c = c.toUpperCase();
    if (c === "O") { c = "0"; } else if (c === "I" || c === "L") { c = "1"; }
    return ALPHABET.indexOf(c);
  }
  function timesTwo(x) { var s = x << 1; return (s & 32) ? ((s ^ 37) & 31) : s; }
  function ticketOk(text) {
    var chars = text.replace(/[\s-]/g, "");
    if (chars.length !== 10) { return null; }
    var interim = 0;
    for (var i = 0; i < chars.length; i++) {
      var v = symbol(chars.charAt(i));
      if (v < 0) { return false; }
      interim = timesTwo(interim) ^ v;
    }
    return interim === 0;
  }
  document.querySelectorAll("input[data-ticket]").forEach(function (input) {
    var out = document.getElementById(input.getAttribute("data-ticket"));
    if (!out) { return; }
    input.addEventListener("input", function () {
      var ok = ticketOk(input.value);
      if (ok === null) { out.textContent = ""; input.removeAttribute("aria-invalid"); return; }
      out.textContent = ok ? out.getAttribute("data-ok") : out.getAttribute("data-bad");
      if (ok) { input.removeAttribute("aria-invalid"); } else { input.setAttribute("aria-invalid", "true"); }
    });
  });
})();
