// The comment queue. Every part is an enhancement; the page works without it.
"use strict";

// The navigation sidebar starts collapsed here, leaving the width to the columns; the user's
// choice for the other admin pages is kept as it was.
document.addEventListener("DOMContentLoaded", function () {
  const main = document.getElementById("main");
  const toggle = document.getElementById("toggle-nav-sidebar");
  if (main && toggle && main.classList.contains("shifted")) {
    const key = "django.admin.navSidebarIsOpen";
    const stored = localStorage.getItem(key);
    toggle.click();
    if (stored === null) {
      localStorage.removeItem(key);
    } else {
      localStorage.setItem(key, stored);
    }
  }
});

// Each cell says what it is, for the card list on narrow screens (queue.css).
document.addEventListener("DOMContentLoaded", function () {
  const table = document.getElementById("result_list");
  if (!table) {
    return;
  }
  const labels = Array.from(table.querySelectorAll("thead th")).map(function (th) {
    return th.textContent.trim();
  });
  table.querySelectorAll("tbody tr").forEach(function (row) {
    Array.from(row.children).forEach(function (cell, index) {
      if (labels[index] && !cell.classList.contains("action-checkbox")) {
        cell.dataset.label = labels[index];
      }
    });
  });
});

// After a refused bulk action, select again the comments it refused, so that what was typed
// beside the action can be completed and sent again.
window.addEventListener("load", function () {
  const kept = document.getElementById("kept-selection");
  if (!kept) {
    return;
  }
  const selected = new Set(JSON.parse(kept.textContent).map(String));
  document.querySelectorAll("#result_list input.action-select").forEach(function (box) {
    if (selected.has(box.value) && !box.checked) {
      box.click(); // through the admin's own handler: the counter and the row's highlight follow
    }
  });
});
