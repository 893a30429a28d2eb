// The force-close's count by note and coin adds up as the manager types: each line's total,
// the sum, and the cash counted below, until the manager types that amount by hand (the box
// then checks the two agree). Without script the box adds the count up when it is sent.
(function () {
  "use strict";
  var count = document.querySelector("fieldset[data-count]");
  if (!count) return;
  var form = count.form;
  var currency = count.getAttribute("data-currency");
  var lines = count.querySelectorAll("input[data-cents]");
  var total = document.getElementById("count-total");
  var counted = form.elements.namedItem("counted");
  var byHand = counted.value.trim() !== "";

  // Cents as the pages write money: "1,234.50 EUR".
  function money(cents) {
    var whole = String(Math.floor(cents / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return whole + "." + String(cents % 100).padStart(2, "0");
  }

  function add() {
    var sum = 0, typed = false;
    lines.forEach(function (line) {
      var text = line.value.trim(), out = count.querySelector('output[for="' + line.id + '"]');
      typed = typed || text !== "";
      if (/^[0-9]{1,7}$/.test(text)) {
        var cents = Number(line.getAttribute("data-cents")) * Number(text);
        sum += cents;
        out.textContent = "= " + money(cents);
      } else {
        out.textContent = text === "" ? "" : "not a whole number";
      }
    });
    total.textContent = money(sum) + " " + currency;
    if (!byHand) counted.value = typed ? money(sum).replace(/,/g, "") : "";
  }

  count.addEventListener("input", add);
  counted.addEventListener("input", function () { byHand = counted.value.trim() !== ""; });
  count.classList.add("live");
  add();
})();
