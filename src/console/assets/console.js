// 道德银行 console: conveniences only. Every page works without this script.
(function () {
  "use strict";

  // The search box keeps the focus, so a scanner's passbook number and Enter land there.
  var search = document.querySelector("[data-scan-target]");
  if (search) { search.focus(); search.select(); }

  // A running total and the balance after, as quantities change on the resident's card.
  var basket = document.querySelector("form[data-basket]");
  if (basket) {
    var balance = Number(basket.getAttribute("data-balance-hundredths"));
    var totalOut = document.querySelector("[data-total]");
    var afterOut = document.querySelector("[data-after]");
    var show = function (hundredths) {
      var sign = hundredths < 0 ? "-" : "";
      var abs = Math.abs(hundredths);
      var cents = String(abs % 100);
      return sign + Math.floor(abs / 100) + "." + (cents.length < 2 ? "0" + cents : cents);
    };
    var update = function () {
      var total = 0;
      basket.querySelectorAll("input[data-price-hundredths]").forEach(function (input) {
        var n = parseInt(input.value, 10);
        if (n > 0) { total += n * Number(input.getAttribute("data-price-hundredths")); }
      });
      if (totalOut) { totalOut.textContent = show(total); }
      if (afterOut) {
        afterOut.textContent = show(balance - total);
        afterOut.classList.toggle("short", balance - total < 0);
      }
    };
    basket.addEventListener("input", update);
    update();
  }

  // A form that moves coins is sent once: a second click while it is on its way does nothing.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-sent")) { event.preventDefault(); return; }
      form.setAttribute("data-sent", "1");
    });
  });

  // Print buttons on the receipt and register pages.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // The review desk: tick every deed of the queue at once.
  document.querySelectorAll("[data-check-all]").forEach(function (button) {
    button.addEventListener("click", function () {
      var name = button.getAttribute("data-check-all");
      button.form.querySelectorAll("input[type=checkbox][name=" + name + "]").forEach(function (box) { box.checked = true; });
    });
  });
})();
