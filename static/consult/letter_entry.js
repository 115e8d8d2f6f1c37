// Recording a letter: the clause list shows only the chosen consultation's clauses (until one
// is chosen, the server groups them under each consultation's title).
"use strict";
window.addEventListener("load", function () {
  const consultation = document.getElementById("id_consultation");
  const clause = document.getElementById("id_clause");
  if (!consultation || !clause) {
    return;
  }
  function show() {
    const chosen = consultation.value;
    clause.querySelectorAll("option[data-consultation]").forEach(function (option) {
      const other = chosen !== "" && option.dataset.consultation !== chosen;
      option.hidden = other;
      option.disabled = other;
      if (other && option.selected) {
        clause.value = "";
      }
    });
    clause.querySelectorAll("optgroup").forEach(function (group) {
      group.hidden = !group.querySelector("option:not([hidden])");
    });
  }
  consultation.addEventListener("change", show);
  show();
});
