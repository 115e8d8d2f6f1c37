// Small enhancements; every page works without them.
(function () {
  "use strict";

  // The error summary takes focus so screen readers announce what went wrong.
  var summary = document.getElementById("error-summary") ||
    document.getElementById("rate-limited");
  if (summary) { summary.focus(); }

  // Countdown to the close of the comment period.
  document.querySelectorAll(".countdown[data-closes-at]").forEach(function (node) {
    // The close's whole second still takes comments (23:59:59 until 23:59:59.999), as the
    // server counts it: closed from the next second on.
    var over = Math.floor(new Date(node.dataset.closesAt).getTime() / 1000) * 1000 + 1000;
    function tick() {
      if (Date.now() >= over) { node.textContent = node.dataset.labelClosed; return; }
      var left = Math.max(0, Math.floor((over - 1000 - Date.now()) / 1000));
      var days = Math.floor(left / 86400), hours = Math.floor(left % 86400 / 3600),
          minutes = Math.floor(left % 3600 / 60);
      // The words and brackets are the page's language's, from the template.
      node.textContent = node.dataset.template.replace("{days}", days)
        .replace("{hours}", hours).replace("{minutes}", minutes);
      setTimeout(tick, 30000);
    }
    tick();
  });

  // Copy the tracking number.
  document.querySelectorAll("button.copy[data-copy-target]").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = document.getElementById(button.dataset.copyTarget).textContent.trim();
      if (navigator.clipboard) {
        navigator.clipboard.writeText(text).then(function () {
          button.textContent = button.dataset.copiedLabel;
        });
      }
    });
  });
})();

// The adoption report's print button (no inline handlers: the CSP forbids them).
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () {
    window.print();
  });
});
