// The quote composer's "Use suggested price" buttons: each copies the analysis's suggested unit
// price into its line's price input. Without this script the suggestion is plain text the
// operator can type in; either way, the price in the input is the one sent.
(function () {
  "use strict";

  function wire(button) {
    var input = document.getElementById(button.dataset.priceInput);
    if (!input) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      input.value = button.dataset.usePrice;
      input.dispatchEvent(new Event("input", { bubbles: true }));
      input.dispatchEvent(new Event("change", { bubbles: true }));
      input.focus();
    });
  }

  document.querySelectorAll("button[data-use-price]").forEach(wire);
})();
