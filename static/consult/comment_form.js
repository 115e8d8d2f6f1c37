// The comment form: a character counter, and a draft of the comment kept in this browser
// (localStorage) until it is sent, for DRAFT_HOURS at most, or until the citizen clears it.
// Only the comment's text is kept, never contact details: the computer may be shared (a
// library's, where the next visitor must not find it). The form works the same without
// this script.
(function () {
  "use strict";

  var form = document.getElementById("comment-form");
  var body = document.getElementById("id_body");
  var PENDING = "consult-draft-pending";
  var DRAFT_HOURS = 12;

  // A draft is {"text", "savedAt"}; one older than DRAFT_HOURS, or in another shape (kept by
  // an earlier version, without its age), is gone.
  function draftRead(store, key) {
    var kept = null;
    try { kept = JSON.parse(store.getItem(key)); } catch (error) { kept = null; }
    var fresh = kept && typeof kept.text === "string" && typeof kept.savedAt === "number" &&
      Date.now() - kept.savedAt < DRAFT_HOURS * 3600 * 1000;
    if (!fresh) { store.removeItem(key); return ""; }
    return kept.text;
  }
  function draftWrite(store, key, text) {
    if (text) {
      store.setItem(key, JSON.stringify({ text: text, savedAt: Date.now() }));
    } else {
      store.removeItem(key);
    }
  }

  function storage() {
    try { return window.localStorage; } catch (error) { return null; }
  }

  // The receipt page: the comment was stored, so its draft goes.
  var store = storage();
  if (!form) {
    if (store && document.getElementById("tracking-number")) {
      var sent = store.getItem(PENDING);
      if (sent) { store.removeItem(sent); store.removeItem(PENDING); }
    }
    return;
  }
  if (!body) { return; }

  var counter = document.getElementById("body-count");
  var fullAlert = document.getElementById("body-count-alert");
  var max = parseInt(counter.dataset.max, 10);
  var wasFull = false;
  function count() {
    // Characters as people count them: an emoji is one, not two UTF-16 units.
    var length = Array.from(body.value).length;
    counter.textContent = counter.dataset.template
      .replace("{count}", length).replace("{max}", max);
    counter.classList.toggle("over", length > max);
    // Said once as the text reaches the limit (the field takes no more), not on every
    // keystroke.
    if (fullAlert && (length >= max) !== wasFull) {
      wasFull = length >= max;
      fullAlert.textContent = wasFull ? fullAlert.dataset.full.replace("{max}", max) : "";
    }
  }
  counter.hidden = false;
  body.addEventListener("input", count);

  var key = form.dataset.draftKey;
  var note = document.getElementById("draft-note");
  if (store && key) {
    // A page that comes back with the text typed (errors, too many requests) keeps it;
    // an empty form takes the draft.
    var draft = draftRead(store, key);
    if (draft && !body.value) { body.value = draft; }
    if (store.getItem(PENDING) === key) { store.removeItem(PENDING); }
    var saving = null;
    body.addEventListener("input", function () {
      clearTimeout(saving);
      saving = setTimeout(function () {
        try {
          draftWrite(store, key, body.value);
          note.hidden = !body.value;
        } catch (error) { /* storage full or refused: the form still works */ }
      }, 300);
    });
    form.addEventListener("submit", function () {
      try {
        if (body.value) { draftWrite(store, key, body.value); }
        store.setItem(PENDING, key);
      } catch (error) { /* as above */ }
    });
    // Leaving a shared computer: the draft and the text on the screen both go.
    document.getElementById("draft-clear").addEventListener("click", function () {
      clearTimeout(saving);
      try { store.removeItem(key); } catch (error) { /* as above */ }
      body.value = "";
      count();
      note.hidden = true;
      body.focus();
    });
    note.hidden = !body.value;
  }
  count();

  // Switching language loads the form again, empty but for the draft of the text: contact
  // details are never kept in the browser, and no browser refills a file input. Ask first
  // when anything else was filled in (or the text, where there is no draft to keep it).
  var switcher = document.querySelector("form.language-switch");
  var warning = form.dataset.languageWarning;
  function filledBeyondDraft() {
    return Array.prototype.some.call(form.elements, function (field) {
      if (field === body) { return !(store && key) && body.value.trim() !== ""; }
      if (field.type === "hidden" || field.closest(".hp")) { return false; }
      if (field.type === "file") { return field.files && field.files.length > 0; }
      if (field.type === "checkbox") { return field.checked; }
      if (field.type === "radio") { return field.checked !== field.defaultChecked; }
      return /^(text|email|tel)$/.test(field.type) && field.value.trim() !== "" &&
        !/captcha/.test(field.name);
    });
  }
  if (switcher && warning) {
    switcher.addEventListener("submit", function (event) {
      if (filledBeyondDraft() && !window.confirm(warning)) {
        event.preventDefault();
        return;
      }
      // The draft is saved a moment after typing stops: save it now, the page is leaving.
      try {
        if (store && key && body.value) { draftWrite(store, key, body.value); }
      } catch (error) { /* storage full or refused */ }
    });
  }
})();
