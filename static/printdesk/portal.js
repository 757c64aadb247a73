/* The customer's pages, enhanced: the colour list follows the material, and a form is sent once.
   Everything works without this file; the server checks every input anyway. */
(function () {
  "use strict";

  function filterColours(form) {
    var material = form.querySelector("[data-material-select]");
    var colour = form.querySelector("[data-colour-select]");
    if (!material || !colour) return;
    // Keep the full list aside, then show only the chosen material's colours.
    var groups = Array.prototype.map.call(colour.querySelectorAll("optgroup"), function (group) {
      return { material: group.getAttribute("data-material"), label: group.label,
               options: Array.prototype.slice.call(group.querySelectorAll("option")) };
    });
    var placeholder = colour.querySelector("option[value='']");
    var help = form.querySelector("[data-colour-help]");
    var helpText = help ? help.textContent : "";

    function show() {
      var chosen = colour.value;
      var group = groups.find(function (g) { return g.material === material.value; });
      colour.textContent = "";
      colour.appendChild(placeholder);
      if (group) {
        placeholder.textContent = "Choose a colour";
        group.options.forEach(function (option) { colour.appendChild(option); });
        colour.value = group.options.some(function (o) { return o.value === chosen; }) ? chosen : "";
        colour.disabled = false;
        if (help) help.textContent = "Available in " + group.options.length + " colours.";
      } else {
        placeholder.textContent = material.value ? "No colour to choose" : "Choose a material first";
        colour.value = "";
        colour.disabled = Boolean(material.value);
        if (help) help.textContent = material.value ? "This material comes in one colour." : helpText;
      }
    }
    material.addEventListener("change", show);
    show();
  }

  function sendOnce(form) {
    form.addEventListener("submit", function (event) {
      // uploader.js holds a form back until its files have arrived.
      if (form.hasAttribute("data-uploads-pending")) { event.preventDefault(); return; }
      if (form.getAttribute("data-sending")) { event.preventDefault(); return; }
      form.setAttribute("data-sending", "1");
      var button = form.querySelector("button[type=submit][data-busy-text]");
      if (button) {
        button.setAttribute("data-idle-text", button.textContent);
        button.textContent = button.getAttribute("data-busy-text");
        button.setAttribute("aria-disabled", "true");
      }
    });
  }

  document.querySelectorAll("[data-request-form]").forEach(filterColours);
  document.querySelectorAll("form[method=post]").forEach(sendOnce);
  // A page that comes back from the bfcache may be sent again.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sending]").forEach(function (form) {
      form.removeAttribute("data-sending");
      var button = form.querySelector("button[type=submit][data-busy-text]");
      if (button && button.hasAttribute("data-idle-text")) {
        button.textContent = button.getAttribute("data-idle-text");
        button.removeAttribute("aria-disabled");
      }
    });
  });

  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
