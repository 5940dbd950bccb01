// The automation form: "insert variable" buttons and payload presets.
// A static file (no inline script) so the Content-Security-Policy can forbid inline code.
(function () {
  var form = document.getElementById("automation-form");
  var lastField = null;
  form.addEventListener("focusin", function (e) {
    var t = e.target;
    if ((t.tagName === "TEXTAREA" || (t.tagName === "INPUT" && t.type === "text"))) { lastField = t; }
  });
  form.addEventListener("click", function (e) {
    var insert = e.target.closest("[data-insert]");
    if (insert && lastField) {
      e.preventDefault();
      var v = insert.getAttribute("data-insert");
      var s = lastField.selectionStart || 0, end = lastField.selectionEnd || 0;
      lastField.value = lastField.value.slice(0, s) + v + lastField.value.slice(end);
      lastField.focus();
      lastField.selectionStart = lastField.selectionEnd = s + v.length;
      lastField.dispatchEvent(new Event("input", {bubbles: true}));
      return;
    }
    var preset = e.target.closest("[data-preset]");
    var payload = document.getElementById("id_payload");
    if (preset && payload) {
      e.preventDefault();
      payload.value = preset.getAttribute("data-preset");
      payload.dispatchEvent(new Event("input", {bubbles: true}));
      document.body.dispatchEvent(new Event("preset-applied"));
    }
  });
})();
