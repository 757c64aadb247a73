// The job page: add rows to the quote composer and to "Add runs", dim lines marked for
// removal, and hide the carrier fields for a hand-over. Everything works without it.
(function () {
  "use strict";

  // A button with data-add-row="<container id>" clones <template id="data-template">, whose
  // names hold __prefix__ (the formset index) and __number__ (the row's number on the page).
  document.querySelectorAll("[data-add-row]").forEach(function (button) {
    var container = document.getElementById(button.dataset.addRow);
    var template = document.getElementById(button.dataset.template);
    var total = document.getElementById(button.dataset.total);
    if (!container || !template || !total) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      var html = template.innerHTML
        .replace(/__prefix__/g, String(index))
        .replace(/__number__/g, String(container.querySelectorAll("[data-row]").length + 1));
      container.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var added = container.lastElementChild;
      var first = added && added.querySelector("input:not([type=hidden]), select");
      if (first) { first.focus(); }
    });
  });

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.matches && box.matches(".quote-line input[type=checkbox][name$='-DELETE']")) {
      box.closest(".quote-line").classList.toggle("is-removed", box.checked);
    }
  });

  var carrierFields = document.querySelector("[data-carrier-fields]");
  var methods = document.querySelectorAll("input[name='dispatch-method']");
  function showCarrier() {
    var handOver = document.querySelector("input[name='dispatch-method'][value='hand_over']");
    carrierFields.hidden = Boolean(handOver && handOver.checked);
  }
  if (carrierFields && methods.length) {
    methods.forEach(function (radio) { radio.addEventListener("change", showCarrier); });
    showCarrier();
  }
})();
