// Small page behaviours, declared with data attributes instead of inline handlers
// (the Content-Security-Policy forbids inline code):
//   <form data-confirm="Delete it?">    asks before submitting
//   <input data-select-on-focus>        selects its text when focused (copy a URL)
//   <select data-autosubmit>            submits its form when changed
(function () {
  document.addEventListener("submit", function (e) {
    var message = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);
  document.addEventListener("focusin", function (e) {
    if (e.target.hasAttribute && e.target.hasAttribute("data-select-on-focus")) { e.target.select(); }
  });
  document.addEventListener("change", function (e) {
    if (e.target.hasAttribute && e.target.hasAttribute("data-autosubmit") && e.target.form) {
      e.target.form.requestSubmit();
    }
  });
})();
