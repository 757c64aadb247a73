// The email template editor's live preview: as the admin types, the form is posted to the
// preview URL and the subject, text and HTML shown beside it. Without it, "Preview" does the
// same with a page load.
(function () {
  "use strict";

  var form = document.querySelector("form[data-preview-url]");
  if (!form || !window.fetch) { return; }
  var subject = document.querySelector("[data-preview-subject]");
  var text = document.querySelector("[data-preview-text]");
  var frame = document.querySelector("[data-preview-html]");
  var status = document.querySelector("[data-preview-status]");
  var timer = null;
  var latest = 0;

  // The HTML part is shown by posting the form into the frame: its answer carries its own
  // policy (inline styles, nothing else) and is sandboxed: no scripts, no same origin. A srcdoc
  // would inherit this page's policy, which refuses the inline styles every email uses.
  function showHtml() {
    var action = form.getAttribute("action");
    form.setAttribute("action", frame.dataset.previewHtmlUrl);
    form.setAttribute("target", frame.name);
    form.submit();  // no submitter: "intent" is not sent
    form.removeAttribute("target");
    if (action === null) { form.removeAttribute("action"); } else { form.setAttribute("action", action); }
  }

  function show(preview) {
    if (!preview) { return; }
    subject.textContent = preview.subject;
    text.textContent = preview.text;
    showHtml();
  }

  function problems(errors) {
    var messages = [];
    Object.keys(errors).forEach(function (field) {
      messages = messages.concat(errors[field]);
    });
    return messages.join(" ");
  }

  function refresh() {
    var asked = ++latest;
    var body = new FormData(form);
    body.delete("intent");
    fetch(form.dataset.previewUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": body.get("csrfmiddlewaretoken") },
    })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (asked !== latest) { return; }  // a later keystroke's answer is on its way
        show(answer.preview);
        status.textContent = answer.ok ? "Preview updated." : problems(answer.errors);
      })
      .catch(function () {
        if (asked === latest) { status.textContent = "The preview could not be updated."; }
      });
  }

  form.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  });
  // A page answering a posted form (an error, or the Preview button) shows the typed wording.
  if (frame.hasAttribute("data-preview-bound")) { showHtml(); }
  var button = form.querySelector("[data-preview-button]");
  if (button) { button.hidden = true; }  // the preview follows the typing
})();
